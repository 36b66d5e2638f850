/// Encodes ``TraceFrame`` values into one batch of wire format v1 (FORMAT.md).
///
/// Append frames until ``append(_:)`` returns `false` (the batch is full), then
/// ``finish(sequence:)`` gives the bytes to send, and ``reset()`` starts the next
/// batch. Strings are interned per batch; buffers are allocated once, so encoding
/// allocates nothing. Not thread-safe.
public final class BatchEncoder {
    /// The largest batch this encoder builds, in bytes.
    public let capacity: Int
    /// Written into every batch header.
    public let producerID: UInt64
    /// Bytes reserved before each batch for the transport (``detachFinishedBatch()``).
    public let headroom: Int
    /// The batch's first byte, `headroom` bytes into the allocation. Replaced only by
    /// ``detachFinishedBatch()`` (one thread uses an encoder at a time).
    @exclusivity(unchecked) @usableFromInline var buffer: UnsafeMutableRawPointer
    @usableFromInline let strings: BatchStringTable
    @usableFromInline let recent = StringIdentityCache()
    /// Each ``FrameLabels``' references in the current batch (``append(_:_:)``).
    @usableFromInline let labelRefs = LabelReferenceCache()
    /// Progress of the batch, behind a pointer: no dynamic exclusivity checks per frame.
    @usableFromInline let progress: UnsafeMutablePointer<Progress>

    @usableFromInline
    struct Progress {
        /// End of the frames written so far (they start at the header's end).
        @usableFromInline var framesEnd = WireLimits.headerLength
        @usableFromInline var frameCount = 0
        @usableFromInline var finished = false
    }

    /// Frames in the batch.
    public var frameCount: Int { progress.pointee.frameCount }
    @usableFromInline var framesEnd: Int { progress.pointee.framesEnd }

    /// - Parameters:
    ///   - capacity: batch size limit in bytes, 1 KiB … ``WireLimits/maxBatchBytes``.
    ///   - producerID: identifies this producer in every header (random per process is fine).
    ///   - headroom: bytes kept free before the batch for whoever takes it over
    ///     (``detachFinishedBatch()``), 0 … 4,096.
    public init(capacity: Int = 65_536, producerID: UInt64 = 0, headroom: Int = 0) {
        precondition(capacity >= 1024 && capacity <= WireLimits.maxBatchBytes, "batch capacity out of range")
        precondition(headroom >= 0 && headroom <= 4_096, "headroom out of range")
        self.capacity = capacity
        self.producerID = producerID
        self.headroom = headroom
        buffer = .allocate(byteCount: headroom + capacity, alignment: 16) + headroom
        strings = BatchStringTable(capacity: capacity)
        progress = .allocate(capacity: 1)
        progress.initialize(to: Progress())
    }

    deinit {
        (buffer - headroom).deallocate()
        strings.deallocate()
        recent.deallocate()
        labelRefs.deallocate()
        progress.deallocate()
    }

    /// Whether the batch holds no frame.
    public var isEmpty: Bool { frameCount == 0 }

    /// The size the batch would have if finished now, in bytes.
    public var byteCount: Int { framesEnd + strings.byteCount }

    /// Adds `frame` to the batch.
    ///
    /// - Returns: `false`, with the batch unchanged, when the frame does not fit in
    ///   the remaining space or frame/string limits; finish and reset, then append again.
    ///   (A batch with no frame but carried strings, ``carryStrings(from:)``, drops them
    ///   instead and returns `false`: append again.)
    /// - Throws: ``WireError`` when the frame itself breaks the format's rules
    ///   (empty or over-long string, more than 8 tags, duplicate tag keys, a value out
    ///   of range), or is too large for even an empty batch. The batch is unchanged.
    public func append(_ frame: borrowing TraceFrame) throws(WireError) -> Bool {
        precondition(!progress.pointee.finished, "append after finish: call reset() first")
        guard frameCount < WireLimits.maxFrames else { return false }
        let tagCount = frame.tags.count
        let length = WireLimits.encodedFrameLength + tagCount * WireLimits.tagLength
        if tagCount > WireLimits.maxTags {
            throw WireError(.tooManyTags, frame: frameCount, field: "tag_count", value: UInt64(tagCount))
        }
        let measures = FrameMeasures(of: frame)
        try validate(measures)

        let mark = strings.mark
        guard let model = try intern(frame.model, "model"),
              let modelVersion = try intern(optional: frame.modelVersion, "model_version"),
              let promptVersion = try intern(optional: frame.promptVersion, "prompt_version"),
              let route = try intern(optional: frame.route, "route"),
              let errorClass = try intern(optional: frame.errorClass, "error_class")
        else { return try full(mark) }

        let p = buffer + framesEnd
        // Tags first (into the space after the fixed part), so a full batch can still back out.
        if framesEnd + length + strings.byteCount > capacity { return try full(mark) }
        for index in 0..<tagCount {
            // Indexing borrows the tag in place; `enumerated()` would copy (and retain) it.
            guard let key = try intern(frame.tags[index].key, "tag.key"),
                  let value = try intern(frame.tags[index].value, "tag.value")
            else { return try full(mark) }
            for earlier in 0..<index where UnsafeRawPointer(p + WireLimits.encodedFrameLength).readLE(earlier * 4, as: UInt16.self) == key {
                rollBack(to: mark)
                throw WireError(.duplicateTagKey, frame: frameCount, field: "tag[\(index)].key", value: UInt64(key))
            }
            (p + WireLimits.encodedFrameLength).writeLE(key, index * 4)
            (p + WireLimits.encodedFrameLength).writeLE(value, index * 4 + 2)
        }
        if framesEnd + length + strings.byteCount > capacity { return try full(mark) }
        p.writeLE(model, FrameLayout.model)
        p.writeLE(modelVersion, FrameLayout.modelVersion)
        p.writeLE(promptVersion, FrameLayout.promptVersion)
        p.writeLE(route, FrameLayout.route)
        write(measures, errorClass: errorClass, ring: frame.ring, tagCount: tagCount, at: p)
        progress.pointee.framesEnd += length
        progress.pointee.frameCount += 1
        return true
    }

    /// Adds a request of `labels` with `measures` and, when it failed, its `errorClass`: the
    /// labels' strings are interned once per batch (a cached reference list per
    /// ``FrameLabels``), so a frame costs its numbers.
    ///
    /// - Returns: `false`, with the batch unchanged, when the frame does not fit (as
    ///   ``append(_:)``, carried strings dropped).
    /// - Throws: ``WireError`` when the measures break the format's rules (a value out of
    ///   range, an over-long error class); the labels were checked when they were made.
    public func append(_ labels: FrameLabels, _ measures: FrameMeasures, errorClass: String? = nil) throws(WireError) -> Bool {
        try appendInPlace(labels, measures, errorClass: errorClass)
    }

    /// The error of the last request ``place(_:_:errorClass:)`` refused.
    package private(set) var refusal: WireError?

    /// ``append(_:_:errorClass:)`` without a thrown error: `true` appended, `false` full (the
    /// batch unchanged), `nil` refused for breaking the format's rules (the error in
    /// ``refusal``). `TallyClient`'s path: a typed error's indirect result buffer cost its
    /// caller a stack protector's check and a frame's worth of register shuffling per request.
    package func place(_ labels: FrameLabels, _ measures: FrameMeasures, errorClass: String?) -> Bool? {
        do throws(WireError) {
            return try appendInPlace(labels, measures, errorClass: errorClass)
        } catch {
            refusal = error
            return nil
        }
    }

    @inline(__always)
    func appendInPlace(_ labels: FrameLabels, _ measures: FrameMeasures, errorClass: String?) throws(WireError) -> Bool {
        precondition(!progress.pointee.finished, "append after finish: call reset() first")
        guard frameCount < WireLimits.maxFrames else { return false }
        let tagCount = labels.tagCount  // ≤ WireLimits.maxTags, checked when the labels were made
        let length = WireLimits.encodedFrameLength &+ tagCount &* WireLimits.tagLength
        if _slowPath(Self.breaksRulesApart(measures)) { try validateNamingTheRule(measures) }
        let mark = strings.mark
        guard let references = references(of: labels),
              // Inline test first: most requests succeed and carry no error class.
              let errorClass = errorClass == nil ? WireLimits.noString : try intern(optional: errorClass, "error_class")
        else { return try full(mark) }
        // Each term is at most the capacity (≤ WireLimits.maxBatchBytes, 1 MiB): the sums
        // cannot overflow.
        if framesEnd &+ length &+ strings.byteCount > capacity { return try full(mark) }
        let p = buffer + framesEnd
        writeLabelReferences(references, at: p)
        writeTagReferences(references + 4, count: 2 * tagCount, at: p + WireLimits.encodedFrameLength)
        write(measures, errorClass: errorClass, ring: labels.ring, tagCount: tagCount, at: p)
        progress.pointee.framesEnd &+= length
        progress.pointee.frameCount &+= 1
        return true
    }

    /// The references of `labels` in this batch: [model, model version, prompt version,
    /// route, key₀, value₀, …] (``WireLimits/noString`` for an absent one); interned on
    /// the labels' first frame in the batch. Nil when the string table is full.
    @usableFromInline @inline(__always)
    func references(of labels: FrameLabels) -> UnsafeMutablePointer<UInt16>? {
        let generation = recent.generation.pointee
        if let cached = labelRefs.lookup(labels.id, generation: generation) { return cached }
        return internReferences(of: labels, generation: generation)
    }

    /// Interns the strings of `labels` (checked when the labels were made, so nothing here
    /// throws) from their packed bytes and hashes, straight into their cache entry: this
    /// runs for each label set's first frame in every batch (~9 % of the frames in
    /// `client-record-labels`). Nil, with the entry left empty, when the table is full.
    @usableFromInline
    func internReferences(of labels: FrameLabels, generation: UInt64) -> UnsafeMutablePointer<UInt16>? {
        let place = labelRefs.claim(labels.id)
        place.update(repeating: WireLimits.noString, count: LabelReferenceCache.width)
        let complete = labels.utf8.withUnsafeBytes { utf8 in
            labels.packed.withUnsafeBufferPointer { packed in
                for string in packed {
                    let bytes = UnsafeRawBufferPointer(rebasing: utf8[Int(string.offset)..<Int(string.offset) + Int(string.length)])
                    guard let reference = strings.intern(bytes, hash: string.hash) else { return false }
                    place[Int(string.slot)] = reference
                }
                return true
            }
        }
        guard complete else { return nil }
        labelRefs.commit(labels.id, generation: generation)
        return place
    }

    /// Writes the model, model version, prompt version and route references (the first four
    /// of `references`) at frame `p`: on a little-endian machine in one 8-byte move, their
    /// four fields being adjacent in the frame, in that order; else one at a time.
    @usableFromInline @inline(__always)
    func writeLabelReferences(_ references: UnsafePointer<UInt16>, at p: UnsafeMutableRawPointer) {
        #if _endian(little)
        if FrameLayout.modelVersion == FrameLayout.model + 2 && FrameLayout.promptVersion == FrameLayout.model + 4
            && FrameLayout.route == FrameLayout.model + 6 {
            (p + FrameLayout.model).copyMemory(from: references, byteCount: 4 * MemoryLayout<UInt16>.size)
            return
        }
        #endif
        p.writeLE(references[0], FrameLayout.model)
        p.writeLE(references[1], FrameLayout.modelVersion)
        p.writeLE(references[2], FrameLayout.promptVersion)
        p.writeLE(references[3], FrameLayout.route)
    }

    /// Writes `count` (≤ 16) tag references from `references` at `tags`: on a little-endian
    /// machine with room in the buffer, all 16 slots in two 16-byte moves (the slots past
    /// `count` land past the frame's end, where the next frame or the string table will
    /// overwrite them, and are never sent); else one at a time.
    @usableFromInline @inline(__always)
    func writeTagReferences(_ references: UnsafePointer<UInt16>, count: Int, at tags: UnsafeMutableRawPointer) {
        #if _endian(little)
        let allSlots = 2 * WireLimits.maxTags * MemoryLayout<UInt16>.size
        if tags + allSlots <= buffer + capacity {
            tags.copyMemory(from: references, byteCount: allSlots)
            return
        }
        #endif
        for i in 0..<count { tags.writeLE(references[i], 2 * i) }
    }

    /// Writes every field but the labels' references at `p`.
    @usableFromInline @inline(__always)
    func write(_ m: FrameMeasures, errorClass: UInt16, ring: DeploymentRing, tagCount: Int, at p: UnsafeMutableRawPointer) {
        p.writeLE(m.eventTimeMicros, FrameLayout.eventTime)
        p.writeLE(m.userHash, FrameLayout.userHash)
        p.writeLE(m.sessionHash, FrameLayout.sessionHash)
        p.writeLE(m.queueTimeMicros, FrameLayout.queueTime)
        p.writeLE(m.timeToFirstTokenMicros ?? WireLimits.absent32, FrameLayout.timeToFirstToken)
        p.writeLE(m.totalLatencyMicros, FrameLayout.totalLatency)
        p.writeLE(m.inputTokens, FrameLayout.inputTokens)
        p.writeLE(m.outputTokens, FrameLayout.outputTokens)
        p.writeLE(m.cachedInputTokens, FrameLayout.cachedInputTokens)
        p.writeLE(errorClass, FrameLayout.errorClass)
        p.writeLE(m.categoryID ?? WireLimits.noCategory, FrameLayout.categoryID)
        p.writeLE(m.status.rawValue, FrameLayout.status)
        p.writeLE(ring.rawValue, FrameLayout.ring)
        p.writeLE(m.outcome.rawValue, FrameLayout.outcome)
        p.writeLE(m.safetySeverity.rawValue, FrameLayout.severity)
        p.writeLE(m.safetyKinds.rawValue, FrameLayout.safetyKinds)
        p.writeLE(UInt8(truncatingIfNeeded: tagCount), FrameLayout.tagCount)
        p.writeLE(UInt8(0), FrameLayout.reserved)
        p.writeLE(m.cacheCreationInputTokens, FrameLayout.cacheCreationInputTokens)
        p.writeLE(m.reasoningOutputTokens, FrameLayout.reasoningOutputTokens)
    }

    /// Writes the header and the string table and returns the finished batch. The
    /// bytes stay valid until ``reset()`` or deinit; call ``reset()`` before appending again.
    public func finish(sequence: UInt64) -> UnsafeRawBufferPointer {
        let stringTableOffset = framesEnd
        let total = stringTableOffset + strings.byteCount
        let m = WireLimits.magic
        buffer.storeBytes(of: m.0, toByteOffset: 0, as: UInt8.self)
        buffer.storeBytes(of: m.1, toByteOffset: 1, as: UInt8.self)
        buffer.storeBytes(of: m.2, toByteOffset: 2, as: UInt8.self)
        buffer.storeBytes(of: m.3, toByteOffset: 3, as: UInt8.self)
        buffer.writeLE(WireLimits.version, HeaderLayout.version)
        buffer.writeLE(UInt8(0), HeaderLayout.flags)
        buffer.writeLE(UInt16(WireLimits.headerLength), HeaderLayout.headerLength)
        buffer.writeLE(UInt32(total), HeaderLayout.batchLength)
        buffer.writeLE(UInt32(stringTableOffset), HeaderLayout.stringTableOffset)
        buffer.writeLE(UInt16(frameCount), HeaderLayout.frameCount)
        buffer.writeLE(UInt16(strings.count), HeaderLayout.stringCount)
        buffer.writeLE(UInt16(WireLimits.encodedFrameLength), HeaderLayout.frameLength)
        buffer.writeLE(UInt16(0), HeaderLayout.reserved)
        buffer.writeLE(producerID, HeaderLayout.producerID)
        buffer.writeLE(sequence, HeaderLayout.sequence)
        (buffer + stringTableOffset).copyMemory(from: strings.bytes, byteCount: strings.byteCount)
        progress.pointee.finished = true
        return UnsafeRawBufferPointer(start: buffer, count: total)
    }

    /// Hands over the allocation that holds the finished batch — ``headroom`` bytes, then
    /// the batch ``finish(sequence:)`` returned — and takes a new one, so a transport can
    /// send the batch without copying it. The caller owns the allocation and frees it with
    /// `deallocate()`. Call ``reset()`` before appending again.
    public func detachFinishedBatch() -> (allocation: UnsafeMutableRawPointer, byteCount: Int) {
        precondition(progress.pointee.finished, "detach before finish")
        let batch = (buffer - headroom, framesEnd + strings.byteCount)
        buffer = .allocate(byteCount: headroom + capacity, alignment: 16) + headroom
        return batch
    }

    /// The most string-table bytes ``carryStrings(from:)`` carries into a batch: 1/16 of its
    /// capacity (4 KiB of a 64 KiB batch), so a carried table never crowds out frames.
    public var carriedStringBytesLimit: Int { capacity / 16 }

    /// Starts this empty batch with the string table of `previous` (a batch that filled up)
    /// and with its label sets' cached references (``append(_:_:errorClass:)``), so that the
    /// label sets of the last batch are not interned again in this one: with a stable set of
    /// labels, a producer interns them once instead of once a batch (Benchmarks/README.md,
    /// `client-record-labels`).
    ///
    /// The batch may then hold strings that none of its frames refers to (FORMAT.md allows
    /// it): at most the previous batch's table, and nothing when that table is over
    /// ``carriedStringBytesLimit``; a frame that would fit an empty batch but not beside the
    /// carried strings makes ``append(_:)`` drop them (the batch is then empty, and the
    /// append returns `false`: append again). Returns whether anything was carried.
    /// - Precondition: this batch is empty and not finished; both have the same capacity.
    @discardableResult
    public func carryStrings(from previous: BatchEncoder) -> Bool {
        precondition(frameCount == 0 && strings.count == 0 && !progress.pointee.finished, "carry into a batch in use")
        precondition(previous.capacity == capacity, "carry between batches of different capacities")
        guard previous.strings.count > 0, previous.strings.byteCount <= carriedStringBytesLimit else { return false }
        strings.copy(from: previous.strings)
        labelRefs.copyValid(from: previous.labelRefs, generation: previous.recent.generation.pointee,
                            as: recent.generation.pointee)
        return true
    }

    /// Empties the batch of its frames but keeps its strings and cached label references
    /// when the table is within ``carriedStringBytesLimit`` (as ``carryStrings(from:)``
    /// would carry them into another batch); otherwise the same as ``reset()``.
    public func resetKeepingStrings() {
        guard strings.byteCount <= carriedStringBytesLimit else { return reset() }
        progress.pointee = Progress()
    }

    /// Empties the batch for reuse.
    public func reset() {
        strings.reset()
        recent.invalidate()  // also every cached label reference list (same generation)
        progress.pointee = Progress()
    }

    // MARK: Helpers

    /// Backs out of a frame that does not fit; an empty batch that cannot take it never will
    /// (one that holds only carried strings drops them and returns `false`).
    @usableFromInline
    func full(_ mark: (count: Int, byteCount: Int)) throws(WireError) -> Bool {
        rollBack(to: mark)
        if frameCount == 0 {
            // Strings carried from the last batch (``carryStrings(from:)``) took the room:
            // drop them; the empty batch takes the frame on the next append.
            if strings.count > 0 {
                reset()
                return false
            }
            throw WireError(.overLimit, frame: 0, field: "frame", value: UInt64(capacity))
        }
        return false
    }

    /// Removes the strings interned since `mark` (and forgets cached references to them).
    @usableFromInline
    func rollBack(to mark: (count: Int, byteCount: Int)) {
        if strings.count != mark.count { recent.invalidate() }
        strings.rollBack(to: mark)
    }

    /// The batch reference of `string`, or `nil` when the string table is full.
    @usableFromInline @inline(__always)
    func intern(_ string: String, _ field: StaticString) throws(WireError) -> UInt16? {
        if let reference = recent.lookup(string) { return reference }
        return try internBytes(string, field)
    }

    @usableFromInline
    func internBytes(_ string: String, _ field: StaticString) throws(WireError) -> UInt16? {
        var string = string
        let length = string.utf8.count
        guard length > 0, length <= WireLimits.maxStringBytes else {
            throw WireError(.badString, frame: frameCount, field: "\(field)", value: UInt64(length))
        }
        let reference = string.withUTF8 { strings.intern(UnsafeRawBufferPointer($0)) }
        if let reference { recent.store(string, reference) }
        return reference
    }

    /// ``WireLimits/noString`` for `nil`; otherwise as ``intern(_:_:)``.
    @usableFromInline @inline(__always)
    func intern(optional string: String?, _ field: StaticString) throws(WireError) -> UInt16? {
        guard let string else { return WireLimits.noString }
        return try intern(string, field)
    }

    /// The rules of FORMAT.md on a frame's numbers that their types do not already enforce:
    /// one pass without branches over every rule, then, only when one fails, the slow pass
    /// that names it.
    @usableFromInline @inline(__always)
    func validate(_ m: FrameMeasures) throws(WireError) {
        if _slowPath(Self.breaksRules(m)) { try validateNamingTheRule(m) }
    }

    /// Whether `m` breaks one of the rules ``validate(_:)`` checks (which one:
    /// ``validateNamingTheRule(_:)``).
    @usableFromInline @inline(__always)
    static func breaksRules(_ m: borrowing FrameMeasures) -> Bool {
        @inline(__always) func bit(_ rule: Bool) -> UInt8 { rule ? 1 : 0 }
        let ttft = m.timeToFirstTokenMicros ?? 0
        let kinds = m.safetyKinds.rawValue
        var broken = bit(ttft == WireLimits.absent32) | bit(ttft > m.totalLatencyMicros)
        broken |= bit(m.queueTimeMicros > m.totalLatencyMicros)
        broken |= bit(UInt64(m.cachedInputTokens) &+ UInt64(m.cacheCreationInputTokens) > UInt64(m.inputTokens))
        // `!m.outcome.isValid` without its branches: bit 3 of `outcome & outcome >> 1` is set
        // when the task's two bits (3, 4) both are (the undefined value 3), bit 5 when the
        // feedback's (5, 6) both are; bit 7 is reserved.
        let outcome = m.outcome.rawValue
        broken |= bit(m.reasoningOutputTokens > m.outputTokens) | bit((outcome & 0x80) | (outcome & (outcome &>> 1) & 0x28) != 0)
        broken |= bit(kinds & ~SafetyKinds.defined.rawValue != 0) | bit((m.safetySeverity == .none) != (kinds == 0))
        broken |= bit(m.categoryID == WireLimits.noCategory)
        return broken != 0
    }

    /// ``breaksRules(_:)`` as a call of its own, a leaf: where the frame's numbers are
    /// written after a call that may not be inlined (the label path's interning), the
    /// checks' loads would otherwise stay live across it, spilled to the stack and read
    /// back.
    @usableFromInline @inline(never)
    static func breaksRulesApart(_ m: borrowing FrameMeasures) -> Bool { breaksRules(m) }

    /// The rule `frame` breaks, as the error (``validate(_:)`` found one).
    @usableFromInline @inline(never)
    func validateNamingTheRule(_ frame: FrameMeasures) throws(WireError) {
        func fault(_ reason: WireRejectReason, _ field: String, _ value: some FixedWidthInteger) -> WireError {
            WireError(reason, frame: frameCount, field: field, value: UInt64(truncatingIfNeeded: value))
        }
        if let ttft = frame.timeToFirstTokenMicros, ttft == WireLimits.absent32 || ttft > frame.totalLatencyMicros {
            throw fault(.valueOutOfRange, "time_to_first_token", ttft)
        }
        if frame.queueTimeMicros > frame.totalLatencyMicros {
            throw fault(.valueOutOfRange, "queue_time", frame.queueTimeMicros)
        }
        if frame.cachedInputTokens > frame.inputTokens {
            throw fault(.valueOutOfRange, "cached_input_tokens", frame.cachedInputTokens)
        }
        if UInt64(frame.cachedInputTokens) + UInt64(frame.cacheCreationInputTokens) > UInt64(frame.inputTokens) {
            throw fault(.valueOutOfRange, "cache_creation_input_tokens", frame.cacheCreationInputTokens)
        }
        if frame.reasoningOutputTokens > frame.outputTokens {
            throw fault(.valueOutOfRange, "reasoning_output_tokens", frame.reasoningOutputTokens)
        }
        if !frame.outcome.isValid { throw fault(.valueOutOfRange, "outcome", frame.outcome.rawValue) }
        if frame.safetyKinds.rawValue & ~SafetyKinds.defined.rawValue != 0 {
            throw fault(.reservedBitsSet, "safety_kinds", frame.safetyKinds.rawValue)
        }
        if (frame.safetySeverity == .none) != frame.safetyKinds.isEmpty {
            throw fault(.valueOutOfRange, "safety_kinds", frame.safetyKinds.rawValue)
        }
        if frame.categoryID == WireLimits.noCategory { throw fault(.valueOutOfRange, "category_id", WireLimits.noCategory) }
    }
}
