/// The hash producers apply to user and session identifiers before they go on the
/// wire: 64-bit FNV-1a over the identifier's UTF-8 bytes (offset basis
/// 0xcbf29ce484222325, prime 0x100000001b3; Fowler, Noll and Vo). It is trivial to
/// write in any language, so producers in Python, C and Swift count the same users
/// as the same. Collectors re-mix it before it reaches a HyperLogLog, so its weak
/// avalanche does not bias distinct counts. A hash of 0 is sent as 1, as 0 means
/// "unknown".
public enum IdentifierHash {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a-64 of `bytes`, with 0 mapped to 1.
    @inlinable
    public static func hash(bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = offsetBasis
        for byte in bytes {
            h = (h ^ UInt64(byte)) &* prime
        }
        return h == 0 ? 1 : h
    }

    /// FNV-1a-64 of the UTF-8 bytes of `identifier`, with 0 mapped to 1.
    @inlinable
    public static func hash(_ identifier: String) -> UInt64 {
        var identifier = identifier
        return identifier.withUTF8 { hash(bytes: UnsafeRawBufferPointer($0)) }
    }
}
