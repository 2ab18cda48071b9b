/// A point in time, in milliseconds since the Unix epoch; the only notion of "now" `Routing` has,
/// always passed in by the caller.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    /// Whole seconds, rounded down (also for instants before 1970).
    public var seconds: Int64 { milliseconds.floorDiv(1000) }

    public static func < (a: Instant, b: Instant) -> Bool { a.milliseconds < b.milliseconds }

    public var description: String { Timestamp.format(self, offsetSeconds: 0) }
}

extension Int64 {
    package func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }

    package func floorMod(_ d: Int64) -> Int64 { self - floorDiv(d) * d }
}
