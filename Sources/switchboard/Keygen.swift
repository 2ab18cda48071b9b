import ArgumentParser
import Foundation
import ZeroMQ

/// `switchboard keygen`: a CURVE key pair for the engine or a client.
struct Keygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a CURVE key pair (Z85) for the engine or for a client.",
        discussion: """
        Without --out, prints {"public": …, "secret": …} as JSON. With --out NAME, writes NAME.key (the secret, mode 0600) \
        and NAME.pub (the public key). See docs/OPERATIONS.md.
        """
    )

    @Option(help: ArgumentHelp("Write NAME.key and NAME.pub instead of printing.", valueName: "NAME"))
    var out: String?

    func run() async throws {
        let pair = try CurveKeyPair.generate()
        guard let out else {
            print(#"{"public":"\#(pair.publicKey)","secret":"\#(pair.secretKey)"}"#)
            return
        }
        let secretPath = out + ".key", publicPath = out + ".pub"
        guard FileManager.default.createFile(atPath: secretPath, contents: Data((pair.secretKey + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw RuntimeError("cannot write \(secretPath)")
        }
        try (pair.publicKey + "\n").write(toFile: publicPath, atomically: true, encoding: .utf8)
        print("wrote \(secretPath) (secret, keep it private) and \(publicPath) (public: \(pair.publicKey))")
    }
}

/// Reads a Z85 key file: the first line that is not blank or a `#` comment.
func readKeys(_ path: String, what: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw RuntimeError("cannot read \(what) \(path)") }
    let keys = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    for key in keys where CurveKeyPair.decode(key) == nil {
        throw ValidationError("\(path): '\(key)' is not a CURVE key (40 characters of Z85, as switchboard keygen writes)")
    }
    return keys
}
