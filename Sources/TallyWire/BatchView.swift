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
            Iterator(references: FrameReferences(batch: batch).makeIterator())
        }
        @inlinable public var underestimatedCount: Int { batch.frameCount }

        public struct Iterator: IteratorProtocol {
            @usableFromInline var references: FrameReferences.Iterator

            @inlinable init(references: FrameReferences.Iterator) { self.references = references }

            /// Inlined into the caller: the frame's fields are then read straight into the
            /// caller's registers instead of through a ~110-byte return value.
            @inlinable @inline(__always)
            public mutating func next() -> WireFrame? { references.next()?.frame }
        }
    }

    /// The frames, in batch order, read in place (``FrameReference``): what the ingest path
    /// iterates, so a field no consumer reads is never loaded.
    @inlinable public var frameReferences: FrameReferences { FrameReferences(batch: self) }

    /// The frames of a batch as a sequence of ``FrameReference``s into its bytes.
    public struct FrameReferences: Sequence {
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
            @usableFromInline let late: LateFields

            @inlinable init(base: UnsafeRawPointer?, offset: Int, remaining: Int, frameLength: Int) {
                self.base = base
                self.offset = offset
                self.remaining = remaining
                self.frameLength = frameLength
                late = LateFields(frameLength: frameLength)
            }

            @inlinable @inline(__always)
            public mutating func next() -> FrameReference? {
                guard remaining > 0, let base else { return nil }
                remaining &-= 1
                let reference = FrameReference(base + offset, frameLength: frameLength, late: late)
                offset &+= reference.byteLength
                return reference
            }
        }
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
