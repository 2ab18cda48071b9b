import Storage
import ZeroMQ

/// Who may use the control endpoint: CURVE clients holding an operator key, even on loopback, so neither
/// a plain local process nor a query client's key can reload tables or flip the CTI incident.
///
/// The control endpoint's server key is the engine's CURVE key when it serves CURVE, else one kept in
/// `DATA/control.key`. At every start the engine makes sure `DATA/operator.key` (mode 0600) holds that
/// server key and an operator key pair it admits, so a process that can read the data folder's private
/// files — `switchboard control`, the CTI adapter beside the engine — is an operator.
struct OperatorAccess {
    let serverSecretKey: String
    let allowedKeys: [String]
    let credentialsPath: String

    init(dataDirectory: String, curve: EngineConfiguration.Curve?, extraKeys: [String]) throws {
        let controlKeyPath = FileIO.join(dataDirectory, "control.key")
        if let curve {
            serverSecretKey = curve.serverSecretKey
        } else if let saved = try FileIO.contents(of: controlKeyPath).map({ String(decoding: $0, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "" }),
                  CurveKeyPair.decode(saved) != nil {
            serverSecretKey = saved
        } else {
            serverSecretKey = try CurveKeyPair.generate().secretKey
            try AtomicFile.replace(controlKeyPath, with: Array((serverSecretKey + "\n").utf8), mode: 0o600)
        }
        let serverKey = try CurveKeyPair.publicKey(forSecret: serverSecretKey)
        credentialsPath = FileIO.join(dataDirectory, "operator.key")
        let existing = try FileIO.contents(of: credentialsPath).flatMap { try? OperatorCredentials(text: String(decoding: $0, as: UTF8.self)) }
        let keys = try existing?.keys ?? CurveKeyPair.generate()
        if existing?.serverKey != serverKey {
            try AtomicFile.replace(credentialsPath, with: Array(OperatorCredentials(serverKey: serverKey, keys: keys).text.utf8), mode: 0o600)
        }
        allowedKeys = [keys.publicKey] + extraKeys
    }
}
