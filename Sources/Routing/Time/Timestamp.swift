/// ISO 8601 timestamps with an explicit offset, as the contract uses for `at` and `valid_until`.
public enum Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff…]]` followed by `Z` or `±HH:MM` (or `±HHMM`).
    ///
    /// An offset is required: a wall time without one is ambiguous across zones.
    /// - Returns: the instant and the offset it was written in, or nil when malformed.
    public static func parse(_ text: String) -> (instant: Instant, offsetSeconds: Int32)? {
        text.utf8.withContiguousStorageIfAvailable(parse(utf8:)) ?? Array(text.utf8).withUnsafeBufferPointer(parse(utf8:))
    }

    /// ``parse(_:)`` over the text's UTF-8, read in place: a query's `at` is parsed from the request's bytes.
    package static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> (instant: Instant, offsetSeconds: Int32)? {
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2),
              let date = CivilDate(year: y, month: mo, day: d) else { return nil }
        guard i < b.count, b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }  // T, t or space
        i += 1
        guard let h = digits(2), expect(58), let mi = digits(2), h <= 23, mi <= 59 else { return nil }
        var s = 0
        var millis = 0
        if i < b.count, b[i] == 58 {
            i += 1
            guard let sec = digits(2), sec <= 59 else { return nil }  // leap seconds are not accepted
            s = sec
            if i < b.count, b[i] == 46 || b[i] == 44 {
                i += 1
                var scale = 100, count = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    millis += Int(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                    count += 1
                }
                guard count > 0 else { return nil }
            }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {  // Z
            i += 1
        } else if b[i] == 43 || b[i] == 45 {  // + or -
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2), oh <= 18 else { return nil }
            _ = expect(58)
            guard let om = digits(2), om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let local = date.day * 86_400 + Int64(h * 3600 + mi * 60 + s)
        return (Instant(milliseconds: (local - Int64(offset)) * 1000 + Int64(millis)), Int32(offset))
    }

    /// Formats an instant in the given offset: `2026-11-22T23:50:00+03:00`, with milliseconds only when not zero.
    public static func format(_ instant: Instant, offsetSeconds: Int32) -> String {
        var out = OutputBuffer(capacity: 29)
        write(instant, offsetSeconds: offsetSeconds, into: &out)
        return out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends ``format(_:offsetSeconds:)``'s text to `out` as UTF-8 (ASCII) bytes, without building a `String`:
    /// a decision's `valid_until` is written this way straight into the JSON output.
    package static func write(_ instant: Instant, offsetSeconds: Int32, into out: inout OutputBuffer) {
        let localMillis = instant.milliseconds + Int64(offsetSeconds) * 1000
        let localSeconds = localMillis.floorDiv(1000)
        let millis = Int(localMillis.floorMod(1000))
        let date = CivilDate(day: localSeconds.floorDiv(86_400)).components
        let secondOfDay = Int(localSeconds.floorMod(86_400))
        if (0...9999).contains(date.year), offsetSeconds.magnitude < 100 * 3600 {
            writeFixed(date, secondOfDay, millis, offsetSeconds, into: &out)
        } else {
            writeByParts(date, secondOfDay, millis, offsetSeconds, into: &out)
        }
    }

    /// ``write(_:offsetSeconds:into:)`` for any year and offset, a field at a time.
    static func writeByParts(_ date: (year: Int, month: Int, day: Int), _ secondOfDay: Int, _ millis: Int, _ offsetSeconds: Int32,
                             into out: inout OutputBuffer) {
        appendPadded(date.year, 4, &out)
        out.append(0x2D)  // -
        appendPadded(date.month, 2, &out)
        out.append(0x2D)
        appendPadded(date.day, 2, &out)
        out.append(0x54)  // T
        appendPadded(secondOfDay / 3600, 2, &out)
        out.append(0x3A)  // :
        appendPadded(secondOfDay / 60 % 60, 2, &out)
        out.append(0x3A)
        appendPadded(secondOfDay % 60, 2, &out)
        if millis != 0 {
            out.append(0x2E)  // .
            appendPadded(millis, 3, &out)
        }
        if offsetSeconds == 0 { return out.append(0x5A) }  // Z
        out.append(offsetSeconds < 0 ? 0x2D : 0x2B)
        let magnitude = Int(abs(offsetSeconds))
        appendPadded(magnitude / 3600, 2, &out)
        out.append(0x3A)
        appendPadded(magnitude / 60 % 60, 2, &out)
    }

    /// ``write(_:offsetSeconds:into:)`` for a four-digit year, every field at a fixed place: the bytes are set in
    /// a buffer on the stack and appended at once (appending byte by byte checked the array's uniqueness and
    /// capacity for each, most of an event's two timestamps' cost).
    static func writeFixed(_ date: (year: Int, month: Int, day: Int), _ secondOfDay: Int, _ millis: Int, _ offsetSeconds: Int32,
                           into out: inout OutputBuffer) {
        // `2026-11-22T23:50:00.123+03:00` is the longest: 29 bytes.
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let count = withUnsafeMutableBytes(of: &text) { b in
            var n = 0
            func put(_ byte: UInt8) { b[n] = byte; n += 1 }
            func digits(_ value: Int, _ width: Int) {
                var v = value
                var k = width
                while k > 0 {
                    k -= 1
                    b[n + k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                    v /= 10
                }
                n += width
            }
            digits(date.year, 4); put(0x2D)  // -
            digits(date.month, 2); put(0x2D)
            digits(date.day, 2); put(0x54)  // T
            digits(secondOfDay / 3600, 2); put(0x3A)  // :
            digits(secondOfDay / 60 % 60, 2); put(0x3A)
            digits(secondOfDay % 60, 2)
            if millis != 0 { put(0x2E); digits(millis, 3) }  // .
            if offsetSeconds == 0 {
                put(0x5A)  // Z
            } else {
                put(offsetSeconds < 0 ? 0x2D : 0x2B)
                let magnitude = Int(offsetSeconds.magnitude)
                digits(magnitude / 3600, 2); put(0x3A)
                digits(magnitude / 60 % 60, 2)
            }
            return n
        }
        withUnsafeBytes(of: &text) { out.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// `n` in decimal, zeros in front up to `width` characters, the sign counted among them (as `pad` does).
    private static func appendPadded(_ n: Int, _ width: Int, _ out: inout OutputBuffer) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var count = 0
            var m = n.magnitude
            repeat {
                buffer[count] = UInt8(truncatingIfNeeded: 0x30 + m % 10)
                m /= 10
                count += 1
            } while m > 0
            let length = count + (n < 0 ? 1 : 0)
            if length < width { for _ in length..<width { out.append(0x30) } }
            if n < 0 { out.append(0x2D) }
            while count > 0 {
                count -= 1
                out.append(buffer[count])
            }
        }
    }

    /// Formats an instant in a zone's offset at that instant.
    public static func format(_ instant: Instant, in zone: ZoneRules) -> String {
        format(instant, offsetSeconds: zone.offset(at: instant))
    }
}
