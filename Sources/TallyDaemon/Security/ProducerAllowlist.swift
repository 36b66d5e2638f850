import TallyConfig
import Foundation
import ZeroMQ

/// The producers' CURVE public keys tallyd lets in: every `*.pub` file in a directory
/// (`curve_allowed_producers_dir`), one key per file (``CurveKeyFile``). Read once at
/// start; a file that holds no valid key stops the start with its name.
public struct ProducerAllowlist: Sendable, Equatable {
    /// The allowed public keys, 32 bytes each.
    public let keys: Set<[UInt8]>

    public init(keys: Set<[UInt8]>) { self.keys = keys }

    /// Reads every `*.pub` file in `directory` (other files are ignored); throws when
    /// the directory cannot be listed, a `.pub` file is not a key, or there is none.
    public init(directory: String) throws(ConfigError) {
        let field = "curve_allowed_producers_dir"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw ConfigError(field: field, "cannot list \(directory)")
        }
        var keys = Set<[UInt8]>()
        for name in names.sorted() where name.hasSuffix(".pub") {
            let text = try CurveKeyFile.read(directory + "/" + name, field: field)
            if let key = ZMQCurve.decode(text) { keys.insert(key) }
        }
        guard !keys.isEmpty else { throw ConfigError(field: field, "\(directory): no *.pub key files (tallyd keygen writes them)") }
        self.keys = keys
    }

    public func allows(_ publicKey: [UInt8]) -> Bool { keys.contains(publicKey) }
}
