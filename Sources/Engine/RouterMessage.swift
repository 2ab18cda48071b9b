/// A message on a ROUTER socket: the envelope (the peer's identity, and the empty delimiter a REQ peer
/// adds) and the body frames after it.
enum RouterMessage {
    case request(envelope: ArraySlice<[UInt8]>, body: [UInt8])
    /// More or fewer than one body frame: answered `bad_request`.
    case malformed(envelope: ArraySlice<[UInt8]>, bodyFrames: Int)

    /// nil for a message without an envelope: there is nobody to answer.
    init?(_ frames: [[UInt8]]) {
        guard frames.count >= 2 else { return nil }
        let bodyStart = frames.count >= 3 && frames[1].isEmpty ? 2 : 1
        let envelope = frames[0..<bodyStart]
        if frames.count - bodyStart == 1 {
            self = .request(envelope: envelope, body: frames[bodyStart])
        } else {
            self = .malformed(envelope: envelope, bodyFrames: frames.count - bodyStart)
        }
    }
}

/// Replies that could not be queued, logged once per episode: the first failure of a run is logged, and
/// the next log waits until a reply has gone through again.
struct UnsentReplies {
    private var failing = false

    /// Notes a send; returns true when this failure starts an episode (log it).
    mutating func record(sent: Bool) -> Bool {
        guard !sent else {
            failing = false
            return false
        }
        defer { failing = true }
        return !failing
    }
}
