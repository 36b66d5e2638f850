import TallyConfig
import Foundation
import ZeroMQ

/// CURVE key files as `tallyd keygen` writes them: one 40-character Z85 key (RFC 32)
/// on a line; blank lines and lines starting with `#` are ignored.
///
/// - `<name>.key`: the secret key (mode 0600). tallyd's `curve_secret_key_file`.
/// - `<name>.pub`: the public key. Producers and subscribers need the server's; the
///   server's `curve_allowed_producers_dir` holds one `.pub` file per allowed producer.
public enum CurveKeyFile {
    /// The 40-character Z85 key in `text`, or nil when there is not exactly one valid key.
    public static func key(in text: String) -> String? {
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, ZMQCurve.decode(lines[0]) != nil else { return nil }
        return lines[0]
    }

    /// The Z85 key in the file at `path`; a ``ConfigError`` naming `field` when the file
    /// cannot be read or does not hold exactly one key.
    public static func read(_ path: String, field: String) throws(ConfigError) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(field: field, "cannot read \(path)")
        }
        guard let key = key(in: text) else {
            throw ConfigError(field: field, "\(path): expected one 40-character Z85 CURVE key (tallyd keygen)")
        }
        return key
    }

    /// Writes a new key pair to `<prefix>.key` (secret, mode 0600) and `<prefix>.pub`;
    /// refuses to overwrite either file. Returns the public key.
    public static func writeKeyPair(prefix: String) throws -> String {
        let (publicKey, secretKey) = try ZMQCurve.keyPair()
        let secretPath = prefix + ".key", publicPath = prefix + ".pub"
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw ConfigError(field: "keygen", "\(path) exists; not overwritten")
        }
        let header = "# Tally CURVE key (Z85), written by tallyd keygen\n"
        guard FileManager.default.createFile(atPath: secretPath, contents: Data((header + secretKey + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError(field: "keygen", "cannot write \(secretPath)")
        }
        guard FileManager.default.createFile(atPath: publicPath, contents: Data((header + publicKey + "\n").utf8),
                                             attributes: [.posixPermissions: 0o644]) else {
            throw ConfigError(field: "keygen", "cannot write \(publicPath)")
        }
        return publicKey
    }
}
