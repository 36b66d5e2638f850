/// A decoded, fully validated batch, read in place from the bytes it was decoded
/// from: nothing is copied.
///
/// Valid only while those bytes are alive and until its ``BatchDecoder`` decodes the
/// next batch (it shares the decoder's string index). Iterate ``frames`` to read the
/// frames in order; every frame in it has already passed validation.
public struct BatchView {
    /// The batch's bytes.
    public let bytes: UnsafeRawBufferPointer
    /// The producer's id, from the header.
    public let producerID: UInt64
    /// The producer's batch sequence number, from the header.
    public let sequence: UInt64
    /// Number of frames, 0 … ``WireLimits/maxFrames``.
    public let frameCount: Int
    /// Number of strings in the string table.
    public let stringCount: Int
    @usableFromInline let framesStart: Int
    @usableFromInline let frameLength: Int
    /// The decoder whose string index this view reads (kept alive by the view).
    @usableFromInline let decoder: BatchDecoder

    /// The UTF-8 bytes of string `reference` (precondition: `reference < stringCount`).
    @inlinable
    public func stringBytes(_ reference: UInt16) -> UnsafeRawBufferPointer {
        precondition(Int(reference) < stringCount, "string reference out of range")
        let start = Int(decoder.stringStarts[Int(reference)])
        let length = Int(bytes[start &- 1])
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
    }

    /// String `reference` as a Swift `String` (allocates for strings over 15 bytes);
    /// `nil` for ``WireLimits/noString``.
    public func string(_ reference: UInt16) -> String? {
        reference == WireLimits.noString ? nil : String(decoding: stringBytes(reference), as: UTF8.self)
    }

    /// The frames, in batch order.
    @inlinable public var frames: Frames { Frames(batch: self) }

    /// The frames of a batch as a sequence of ``WireFrame`` values.
    public struct Frames: Sequence {
        @usableFromInline let batch: BatchView
        @inlinable init(batch: BatchView) { self.batch = batch }

        @inlinable public func makeIterator() -> Iterator {
            Iterator(base: batch.bytes.baseAddress, offset: batch.framesStart,
                     remaining: batch.frameCount, frameLength: batch.frameLength)
        }
        @inlinable public var underestimatedCount: Int { batch.frameCount }

        public struct Iterator: IteratorProtocol {
            @usableFromInline let base: UnsafeRawPointer?
            @usableFromInline var offset: Int
            @usableFromInline var remaining: Int
            @usableFromInline let frameLength: Int

            @inlinable init(base: UnsafeRawPointer?, offset: Int, remaining: Int, frameLength: Int) {
                self.base = base
                self.offset = offset
                self.remaining = remaining
                self.frameLength = frameLength
            }

            /// Inlined into the caller (the ingest loop): the frame's fields are then read straight
            /// into the caller's registers instead of through a ~110-byte return value.
            @inlinable @inline(__always)
            public mutating func next() -> WireFrame? {
                guard remaining > 0, let base else { return nil }
                remaining &-= 1
                let frame = FrameReader.read(base + offset, frameLength: frameLength)
                offset &+= frameLength &+ Int(frame.tagCount) &* WireLimits.tagLength
                return frame
            }
        }
    }
}

/// Reads the fields of one frame. Enum values must already have been validated
/// (``BatchDecoder`` does so before it hands out a ``BatchView``).
@usableFromInline
enum FrameReader {
    /// Reads every field; out-of-range enum bytes are mapped to a defined value and
    /// reported through `valid`, so this never traps on arbitrary bytes.
    @inlinable @inline(__always)
    static func read(_ p: UnsafeRawPointer, frameLength: Int, valid: inout Bool) -> WireFrame {
        var f = WireFrame()
        f.eventTimeMicros = p.readLE(FrameLayout.eventTime, as: UInt64.self)
        f.userHash = p.readLE(FrameLayout.userHash, as: UInt64.self)
        f.sessionHash = p.readLE(FrameLayout.sessionHash, as: UInt64.self)
        f.queueTimeMicros = p.readLE(FrameLayout.queueTime, as: UInt32.self)
        f.timeToFirstTokenMicros = p.readLE(FrameLayout.timeToFirstToken, as: UInt32.self)
        f.totalLatencyMicros = p.readLE(FrameLayout.totalLatency, as: UInt32.self)
        f.inputTokens = p.readLE(FrameLayout.inputTokens, as: UInt32.self)
        f.outputTokens = p.readLE(FrameLayout.outputTokens, as: UInt32.self)
        f.cachedInputTokens = p.readLE(FrameLayout.cachedInputTokens, as: UInt32.self)
        // Revision 1.1's fields, when the producer wrote them (frame_length is per batch,
        // so this branch goes the same way for every frame of it).
        if frameLength >= FrameLayout.reasoningOutputTokens &+ 4 {
            f.cacheCreationInputTokens = p.readLE(FrameLayout.cacheCreationInputTokens, as: UInt32.self)
            f.reasoningOutputTokens = p.readLE(FrameLayout.reasoningOutputTokens, as: UInt32.self)
        } else if frameLength >= FrameLayout.cacheCreationInputTokens &+ 4 {
            f.cacheCreationInputTokens = p.readLE(FrameLayout.cacheCreationInputTokens, as: UInt32.self)
        }
        f.model = p.readLE(FrameLayout.model, as: UInt16.self)
        f.modelVersion = p.readLE(FrameLayout.modelVersion, as: UInt16.self)
        f.promptVersion = p.readLE(FrameLayout.promptVersion, as: UInt16.self)
        f.route = p.readLE(FrameLayout.route, as: UInt16.self)
        f.errorClass = p.readLE(FrameLayout.errorClass, as: UInt16.self)
        f.categoryID = p.readLE(FrameLayout.categoryID, as: UInt16.self)
        let status = RequestStatus(rawValue: p.load(fromByteOffset: FrameLayout.status, as: UInt8.self))
        let ring = DeploymentRing(rawValue: p.load(fromByteOffset: FrameLayout.ring, as: UInt8.self))
        let severity = SafetySeverity(rawValue: p.load(fromByteOffset: FrameLayout.severity, as: UInt8.self))
        valid = status != nil && ring != nil && severity != nil
        f.status = status ?? .other
        f.ring = ring ?? .stable
        f.safetySeverity = severity ?? .none
        f.outcome = OutcomeBits(rawValue: p.load(fromByteOffset: FrameLayout.outcome, as: UInt8.self))
        f.safetyKinds = SafetyKinds(rawValue: p.readLE(FrameLayout.safetyKinds, as: UInt16.self))
        let tagCount = min(p.load(fromByteOffset: FrameLayout.tagCount, as: UInt8.self), UInt8(WireLimits.maxTags))
        f.tagCount = tagCount
        withUnsafeMutableBytes(of: &f.tags) { tags in
            let source = p + frameLength
            for i in 0..<Int(tagCount) {
                let key = UInt32(source.readLE(i &* 4, as: UInt16.self))
                let value = UInt32(source.readLE(i &* 4 &+ 2, as: UInt16.self))
                tags.storeBytes(of: key << 16 | value, toByteOffset: i &* 4, as: UInt32.self)
            }
        }
        return f
    }

    @inlinable @inline(__always)
    static func read(_ p: UnsafeRawPointer, frameLength: Int) -> WireFrame {
        var valid = true
        return read(p, frameLength: frameLength, valid: &valid)
    }
}

extension BatchView {
    /// The producer-side value of `frame`, with its strings materialised. Allocates;
    /// for tools and tests, not for the ingest path.
    public func traceFrame(_ frame: WireFrame) -> TraceFrame {
        TraceFrame(
            eventTimeMicros: frame.eventTimeMicros,
            model: string(frame.model) ?? "",
            modelVersion: string(frame.modelVersion),
            promptVersion: string(frame.promptVersion),
            route: string(frame.route),
            ring: frame.ring,
            tags: (0..<Int(frame.tagCount)).map { i in
                let (key, value) = frame.tag(i)
                return CohortTag(string(key) ?? "", string(value) ?? "")
            },
            queueTimeMicros: frame.queueTimeMicros,
            timeToFirstTokenMicros: frame.timeToFirstTokenMicros == WireLimits.absent32 ? nil : frame.timeToFirstTokenMicros,
            totalLatencyMicros: frame.totalLatencyMicros,
            inputTokens: frame.inputTokens,
            outputTokens: frame.outputTokens,
            cachedInputTokens: frame.cachedInputTokens,
            cacheCreationInputTokens: frame.cacheCreationInputTokens,
            reasoningOutputTokens: frame.reasoningOutputTokens,
            status: frame.status,
            errorClass: string(frame.errorClass),
            outcome: frame.outcome,
            safetyKinds: frame.safetyKinds,
            safetySeverity: frame.safetySeverity,
            userHash: frame.userHash,
            sessionHash: frame.sessionHash,
            categoryID: frame.categoryID == WireLimits.noCategory ? nil : frame.categoryID)
    }
}
