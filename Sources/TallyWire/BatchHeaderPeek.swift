/// The two header fields a relay or a counting receiver needs, read without
/// validating the batch: who sent it and how many frames it says it holds.
public struct BatchHeaderPeek: Sendable, Equatable {
    public let producerID: UInt64
    public let frameCount: Int

    /// Reads the header of `bytes`; nil when it is shorter than a v1 header or the
    /// magic is wrong. Nothing past the header is checked: use ``BatchDecoder`` for that.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let p = bytes.baseAddress, bytes.count >= WireLimits.headerLength, p.hasBatchMagic() else { return nil }
        producerID = p.readLE(HeaderLayout.producerID, as: UInt64.self)
        frameCount = Int(p.readLE(HeaderLayout.frameCount, as: UInt16.self))
    }
}
