/// One frame of a validated batch, read in place: each field is loaded from the batch's
/// bytes when it is asked for, and nothing is copied. The ingest path reads frames this
/// way (``BatchView/frameReferences``); ``frame`` copies every field into a ``WireFrame``.
///
/// Valid only while the batch's bytes are and until its ``BatchDecoder`` decodes the
/// next batch, like the ``BatchView`` it came from: do not keep one past the batch.
/// Fields carry the units of FORMAT.md and absent values the sentinels of ``WireLimits``,
/// as in ``WireFrame``. Enum bytes were checked by the decoder; were one out of range all
/// the same, it reads as a defined value (status `other`, ring `stable`, severity `none`)
/// rather than trapping.
public struct FrameReference {
    /// The frame's first byte.
    @usableFromInline let base: UnsafeRawPointer
    /// The batch's frame_length (bytes of a frame before its tags, ≥ 68).
    @usableFromInline let frameLength: Int
    /// Where the batch's frames hold revision 1.1's fields (from frame_length).
    @usableFromInline let late: LateFields

    @inlinable @inline(__always)
    init(_ base: UnsafeRawPointer, frameLength: Int, late: LateFields) {
        self.base = base
        self.frameLength = frameLength
        self.late = late
    }

    @inlinable @inline(__always)
    public var eventTimeMicros: UInt64 { base.readLE(FrameLayout.eventTime, as: UInt64.self) }
    @inlinable @inline(__always)
    public var userHash: UInt64 { base.readLE(FrameLayout.userHash, as: UInt64.self) }
    @inlinable @inline(__always)
    public var sessionHash: UInt64 { base.readLE(FrameLayout.sessionHash, as: UInt64.self) }
    @inlinable @inline(__always)
    public var queueTimeMicros: UInt32 { base.readLE(FrameLayout.queueTime, as: UInt32.self) }
    /// ``WireLimits/absent32`` when absent.
    @inlinable @inline(__always)
    public var timeToFirstTokenMicros: UInt32 { base.readLE(FrameLayout.timeToFirstToken, as: UInt32.self) }
    @inlinable @inline(__always)
    public var totalLatencyMicros: UInt32 { base.readLE(FrameLayout.totalLatency, as: UInt32.self) }
    @inlinable @inline(__always)
    public var inputTokens: UInt32 { base.readLE(FrameLayout.inputTokens, as: UInt32.self) }
    @inlinable @inline(__always)
    public var outputTokens: UInt32 { base.readLE(FrameLayout.outputTokens, as: UInt32.self) }
    @inlinable @inline(__always)
    public var cachedInputTokens: UInt32 { base.readLE(FrameLayout.cachedInputTokens, as: UInt32.self) }
    /// Revision 1.1; 0 when the batch's frames are shorter (frame_length < 72).
    @inlinable @inline(__always)
    public var cacheCreationInputTokens: UInt32 { late.cacheCreationInputTokens(base) }
    /// Revision 1.1; 0 when the batch's frames are shorter (frame_length < 76).
    @inlinable @inline(__always)
    public var reasoningOutputTokens: UInt32 { late.reasoningOutputTokens(base) }
    @inlinable @inline(__always)
    public var model: UInt16 { base.readLE(FrameLayout.model, as: UInt16.self) }
    /// ``WireLimits/noString`` when absent; likewise the other optional references.
    @inlinable @inline(__always)
    public var modelVersion: UInt16 { base.readLE(FrameLayout.modelVersion, as: UInt16.self) }
    @inlinable @inline(__always)
    public var promptVersion: UInt16 { base.readLE(FrameLayout.promptVersion, as: UInt16.self) }
    @inlinable @inline(__always)
    public var route: UInt16 { base.readLE(FrameLayout.route, as: UInt16.self) }
    @inlinable @inline(__always)
    public var errorClass: UInt16 { base.readLE(FrameLayout.errorClass, as: UInt16.self) }
    /// ``WireLimits/noCategory`` when absent.
    @inlinable @inline(__always)
    public var categoryID: UInt16 { base.readLE(FrameLayout.categoryID, as: UInt16.self) }
    @inlinable @inline(__always)
    public var status: RequestStatus {
        RequestStatus(rawValue: base.load(fromByteOffset: FrameLayout.status, as: UInt8.self)) ?? .other
    }
    @inlinable @inline(__always)
    public var ring: DeploymentRing {
        DeploymentRing(rawValue: base.load(fromByteOffset: FrameLayout.ring, as: UInt8.self)) ?? .stable
    }
    @inlinable @inline(__always)
    public var outcome: OutcomeBits {
        OutcomeBits(rawValue: base.load(fromByteOffset: FrameLayout.outcome, as: UInt8.self))
    }
    @inlinable @inline(__always)
    public var safetySeverity: SafetySeverity {
        SafetySeverity(rawValue: base.load(fromByteOffset: FrameLayout.severity, as: UInt8.self)) ?? .none
    }
    @inlinable @inline(__always)
    public var safetyKinds: SafetyKinds {
        SafetyKinds(rawValue: base.readLE(FrameLayout.safetyKinds, as: UInt16.self))
    }
    /// Number of tags, 0 … ``WireLimits/maxTags``.
    @inlinable @inline(__always)
    public var tagCount: UInt8 {
        min(base.load(fromByteOffset: FrameLayout.tagCount, as: UInt8.self), UInt8(WireLimits.maxTags))
    }

    /// The frame's tags, their count read once: a loop over `tags.indices` checks each index
    /// against that count, where ``tag(_:)`` reads the count again on every call.
    @inlinable @inline(__always)
    public var tags: FrameTags { FrameTags(base + frameLength, count: Int(tagCount)) }

    /// Tag `index` (0 ..< ``tagCount``; traps otherwise) as (key, value) string references.
    @inlinable @inline(__always)
    public func tag(_ index: Int) -> (key: UInt16, value: UInt16) { tags[index] }

    /// Bytes from this frame's start to the next frame's: frame_length plus its tags.
    @inlinable @inline(__always) var byteLength: Int { frameLength &+ Int(tagCount) &* WireLimits.tagLength }

    /// Every field copied into a ``WireFrame``.
    @inlinable @inline(__always)
    public var frame: WireFrame {
        var f = WireFrame()
        f.eventTimeMicros = eventTimeMicros
        f.userHash = userHash
        f.sessionHash = sessionHash
        f.queueTimeMicros = queueTimeMicros
        f.timeToFirstTokenMicros = timeToFirstTokenMicros
        f.totalLatencyMicros = totalLatencyMicros
        f.inputTokens = inputTokens
        f.outputTokens = outputTokens
        f.cachedInputTokens = cachedInputTokens
        f.cacheCreationInputTokens = cacheCreationInputTokens
        f.reasoningOutputTokens = reasoningOutputTokens
        f.model = model
        f.modelVersion = modelVersion
        f.promptVersion = promptVersion
        f.route = route
        f.errorClass = errorClass
        f.categoryID = categoryID
        f.status = status
        f.ring = ring
        f.safetySeverity = safetySeverity
        f.outcome = outcome
        f.safetyKinds = safetyKinds
        let tags = self.tags
        f.tagCount = UInt8(truncatingIfNeeded: tags.count)
        withUnsafeMutableBytes(of: &f.tags) { slots in
            for i in tags.indices {
                let (key, value) = tags[i]
                slots.storeBytes(of: UInt32(key) << 16 | UInt32(value), toByteOffset: i &* 4, as: UInt32.self)
            }
        }
        return f
    }
}

/// A frame's tags, read in place from its tag bytes (FORMAT.md: a u16 key and a u16 value
/// string reference per tag); valid as long as the ``FrameReference`` it came from.
public struct FrameTags: RandomAccessCollection {
    /// The frame's first tag byte.
    @usableFromInline let base: UnsafeRawPointer
    /// Number of tags, 0 … ``WireLimits/maxTags``.
    public let count: Int

    @inlinable @inline(__always)
    init(_ base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }

    /// Tag `index` (0 ..< ``count``; traps otherwise) as (key, value) string references.
    @inlinable @inline(__always)
    public subscript(index: Int) -> (key: UInt16, value: UInt16) {
        precondition(index >= 0 && index < count, "tag index out of range")
        // One little-endian u32 per tag: key in the low half, value in the high half.
        let packed = base.readLE(index &* WireLimits.tagLength, as: UInt32.self)
        return (UInt16(truncatingIfNeeded: packed), UInt16(truncatingIfNeeded: packed &>> 16))
    }
}
