extension String {
    /// `a + b + c` with one allocation and one copy of each: String's general `append`, three times, was most of
    /// the cost of a trace line made for a call (a number compared). The bytes are checked as UTF-8 once more
    /// when the string is made: cheap for ASCII (a trace line's path and number), dearer than appending for
    /// long non-ASCII text, which is why the comment (Cyrillic, mostly) is still put together by appending.
    init(joining a: String, _ b: String, _ c: String) {
        let count = a.utf8.count + b.utf8.count + c.utf8.count
        guard count > 0 else { self = ""; return }
        self.init(unsafeUninitializedCapacity: count) { buffer in
            var next = buffer.baseAddress!
            next = String.copyUTF8(of: a, to: next)
            next = String.copyUTF8(of: b, to: next)
            next = String.copyUTF8(of: c, to: next)
            return next - buffer.baseAddress!
        }
    }

    /// Copies the text's UTF-8 to `start`; returns where it ended.
    private static func copyUTF8(of text: String, to start: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        // Native and small strings lend their bytes; a bridged one is copied byte by byte.
        if let end = text.utf8.withContiguousStorageIfAvailable({ utf8 -> UnsafeMutablePointer<UInt8> in
            if let base = utf8.baseAddress { start.initialize(from: base, count: utf8.count) }
            return start + utf8.count
        }) {
            return end
        }
        var next = start
        for byte in text.utf8 {
            next.initialize(to: byte)
            next += 1
        }
        return next
    }
}
