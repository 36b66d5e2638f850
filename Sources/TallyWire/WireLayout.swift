/// Byte offsets of wire format v1, shared by the encoder and decoder. FORMAT.md's
/// tables are the specification; these constants mirror them.
@usableFromInline
enum HeaderLayout {
    @usableFromInline static let magic = 0
    @usableFromInline static let version = 4
    @usableFromInline static let flags = 5
    @usableFromInline static let headerLength = 6
    @usableFromInline static let batchLength = 8
    @usableFromInline static let stringTableOffset = 12
    @usableFromInline static let frameCount = 16
    @usableFromInline static let stringCount = 18
    @usableFromInline static let frameLength = 20
    @usableFromInline static let reserved = 22
    @usableFromInline static let producerID = 24
    @usableFromInline static let sequence = 32
}

@usableFromInline
enum FrameLayout {
    @usableFromInline static let eventTime = 0
    @usableFromInline static let userHash = 8
    @usableFromInline static let sessionHash = 16
    @usableFromInline static let queueTime = 24
    @usableFromInline static let timeToFirstToken = 28
    @usableFromInline static let totalLatency = 32
    @usableFromInline static let inputTokens = 36
    @usableFromInline static let outputTokens = 40
    @usableFromInline static let cachedInputTokens = 44
    @usableFromInline static let model = 48
    @usableFromInline static let modelVersion = 50
    @usableFromInline static let promptVersion = 52
    @usableFromInline static let route = 54
    @usableFromInline static let errorClass = 56
    @usableFromInline static let categoryID = 58
    @usableFromInline static let status = 60
    @usableFromInline static let ring = 61
    @usableFromInline static let outcome = 62
    @usableFromInline static let severity = 63
    @usableFromInline static let safetyKinds = 64
    @usableFromInline static let tagCount = 66
    @usableFromInline static let reserved = 67
    /// Revision 1.1: present when frame_length ≥ 72.
    @usableFromInline static let cacheCreationInputTokens = 68
    /// Revision 1.1: present when frame_length ≥ 76.
    @usableFromInline static let reasoningOutputTokens = 72
}

extension UnsafeRawPointer {
    /// Reads a little-endian integer at `offset`, with no alignment requirement.
    @inlinable @inline(__always)
    func readLE<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Whether the four bytes here are the batch magic `TLYB` (the caller checked the length).
    @inline(__always)
    func hasBatchMagic() -> Bool {
        let m = WireLimits.magic
        return load(as: UInt8.self) == m.0 && load(fromByteOffset: 1, as: UInt8.self) == m.1
            && load(fromByteOffset: 2, as: UInt8.self) == m.2 && load(fromByteOffset: 3, as: UInt8.self) == m.3
    }
}

extension UnsafeMutableRawPointer {
    /// Writes `value` little-endian at `offset`, with no alignment requirement.
    @inlinable @inline(__always)
    func writeLE<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
