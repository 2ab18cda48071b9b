import Routing

/// PBKDF2-HMAC-SHA256 (RFC 8018) in plain Swift: the agents file keeps a salted, stretched hash of each
/// agent's token, never the token. swift-crypto is not a dependency; this is small and checked against
/// Python's `hashlib.pbkdf2_hmac` in the tests.
public enum PBKDF2 {
    /// - Parameters:
    ///   - password: the secret's UTF-8 bytes.
    ///   - salt: at least 16 random bytes, stored beside the hash.
    ///   - iterations: the work factor (the agents file says how many; 100,000 by default).
    /// - Returns: 32 bytes.
    public static func sha256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let mac = HMAC(key: password)
        var u = mac.authenticate(salt + [0, 0, 0, 1])
        var t = u
        for _ in 1..<max(1, iterations) {
            u = mac.authenticate(u)
            for i in 0..<32 { t[i] ^= u[i] }
        }
        return t
    }

    /// Lowercase hexadecimal.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes from hexadecimal; nil when the text is not an even number of hex digits.
    public static func bytes(hex text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// Compares in time independent of where the first difference is.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// HMAC-SHA256 with the key's pads computed once.
struct HMAC {
    private let inner: SHA256State
    private let outer: SHA256State

    init(key: [UInt8]) {
        var k = key.count > 64 ? SHA256State.digest(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        var i = SHA256State()
        i.compress(k.map { $0 ^ 0x36 }[...])
        var o = SHA256State()
        o.compress(k.map { $0 ^ 0x5c }[...])
        inner = i
        outer = o
    }

    func authenticate(_ message: [UInt8]) -> [UInt8] {
        let h = inner.finish(message, previouslyHashed: 64)
        return outer.finish(h, previouslyHashed: 64)
    }
}
