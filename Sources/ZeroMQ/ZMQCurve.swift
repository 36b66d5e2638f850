import CZeroMQ

/// CURVE keys (CurveZMQ, RFC 26): 32-byte Curve25519 keys, written as 40-character
/// Z85 text (RFC 32) in files and configuration.
public enum ZMQCurve {
    /// Whether this libzmq was built with CURVE (libsodium); without it every CURVE
    /// option fails with `EINVAL`.
    public static var isAvailable: Bool { ZMQContext.has("curve") }

    /// A new key pair, as Z85 text (`zmq_curve_keypair`).
    public static func keyPair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
        var publicText = [CChar](repeating: 0, count: 41), secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw .last("zmq_curve_keypair") }
        return (string(publicText), string(secretText))
    }

    /// The public key of a Z85 secret key (`zmq_curve_public`); nil when `secretKey` is
    /// not 40 characters of Z85.
    public static func publicKey(secretKey: String) -> String? {
        guard decode(secretKey) != nil else { return nil }
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secretKey) == 0 else { return nil }
        return string(publicText)
    }

    /// The 32 key bytes of 40 characters of Z85 text; nil for any other text (wrong
    /// length or a character outside the Z85 alphabet).
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 40, utf8.allSatisfy({ z85Alphabet.contains($0) }) else { return nil }
        var key = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeMutableBufferPointer { zmq_z85_decode($0.baseAddress, text) != nil }
        return ok ? key : nil
    }

    /// The 40-character Z85 text of 32 key bytes; nil for any other length.
    public static func encode(_ key: [UInt8]) -> String? {
        guard key.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, key, 32) != nil else { return nil }
        return string(text)
    }

    private static let z85Alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)

    private static func string(_ text: [CChar]) -> String {
        String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
