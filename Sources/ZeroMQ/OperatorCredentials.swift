#if canImport(Glibc)
import Glibc
#endif

/// What a process needs to use the engine's control endpoint: the endpoint's CURVE public key and an
/// operator's key pair that the engine admits there.
///
/// Kept as a small text file readable only by its owner (`switchboard serve` writes
/// `DATA/operator.key` with mode 0600 at first start); whoever can read it is an operator:
///
/// ```
/// # Switchboard operator credentials: keep private.
/// server-key <Z85 public key of the control endpoint>
/// public-key <Z85>
/// secret-key <Z85>
/// ```
public struct OperatorCredentials: Sendable, Hashable {
    public let serverKey: String
    public let keys: CurveKeyPair

    public init(serverKey: String, keys: CurveKeyPair) {
        self.serverKey = serverKey
        self.keys = keys
    }

    /// The file's text.
    public var text: String {
        "# Switchboard operator credentials: whoever reads this file can reload tables and declare CTI incidents; keep it private.\n"
            + "server-key \(serverKey)\npublic-key \(keys.publicKey)\nsecret-key \(keys.secretKey)\n"
    }

    /// Reads the file's text.
    /// - Throws: ``ZMQError`` (`EINVAL`) naming what is missing or malformed.
    public init(text: String) throws(ZMQError) {
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        func key(_ name: Substring) throws(ZMQError) -> String {
            guard let value = fields[name], CurveKeyPair.decode(String(value)) != nil else {
                throw ZMQError(code: EINVAL, operation: "operator credentials: '\(name)' is missing or not 40 characters of Z85")
            }
            return String(value)
        }
        serverKey = try key("server-key")
        keys = CurveKeyPair(publicKey: try key("public-key"), secretKey: try key("secret-key"))
    }
}

extension Socket {
    /// Makes this a client of an engine's control endpoint, as the operator of `credentials`.
    public func makeOperatorClient(_ credentials: OperatorCredentials) throws(ZMQError) {
        try makeCurveClient(serverKey: credentials.serverKey, keys: credentials.keys)
    }
}
