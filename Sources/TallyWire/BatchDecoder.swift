/// Decodes and validates batches of wire format v1 (FORMAT.md).
///
/// A batch is checked completely before any frame is handed out, so a caller
/// either gets a ``BatchView`` whose every frame is valid or a ``WireError`` naming
/// the first fault; one bad frame rejects its whole batch, and nothing else.
/// The decoder never traps and never reads outside the given bytes.
///
/// Reuse one decoder per thread: it owns the string index that views point into,
/// so decoding allocates nothing. Not thread-safe.
public final class BatchDecoder {
    @usableFromInline let stringStarts: UnsafeMutablePointer<UInt32>
    /// Tag keys by text, for the duplicate-key check: per string ref, the first ref of
    /// the batch with the same text (``keyCanonical``), valid where ``keyStamp`` holds
    /// this batch's ``generation``; each first ref sits in an open-addressing set
    /// (``keySlots``, stamped alike) under a seeded hash of its text, so a table crafted
    /// to collide costs no more than any other. 2 × ``WireLimits/maxStrings`` slots keep
    /// the set at most half full. Stamps spare clearing anything per batch.
    private let keyStamp: UnsafeMutablePointer<UInt32>
    private let keyCanonical: UnsafeMutablePointer<UInt16>
    private let keySlots: UnsafeMutablePointer<UInt16>
    private let keySlotStamp: UnsafeMutablePointer<UInt32>
    private static let keySlotCount = 2 * WireLimits.maxStrings
    private var generation: UInt32 = 0

    public init() {
        stringStarts = .allocate(capacity: WireLimits.maxStrings)
        keyStamp = .allocate(capacity: WireLimits.maxStrings)
        keyStamp.initialize(repeating: 0, count: WireLimits.maxStrings)
        keyCanonical = .allocate(capacity: WireLimits.maxStrings)
        keyCanonical.initialize(repeating: 0, count: WireLimits.maxStrings)
        keySlots = .allocate(capacity: Self.keySlotCount)
        keySlots.initialize(repeating: 0, count: Self.keySlotCount)
        keySlotStamp = .allocate(capacity: Self.keySlotCount)
        keySlotStamp.initialize(repeating: 0, count: Self.keySlotCount)
    }

    deinit {
        stringStarts.deallocate()
        keyStamp.deallocate()
        keyCanonical.deallocate()
        keySlots.deallocate()
        keySlotStamp.deallocate()
    }

    /// Validates `bytes` as one batch and returns a view of it. The view is valid
    /// while `bytes` is and until the next call to `decode` on this decoder (which
    /// the view keeps alive).
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> BatchView {
        let count = bytes.count
        guard let p = bytes.baseAddress, count >= 4 else {
            throw WireError(.truncated, field: "magic", value: UInt64(count))
        }
        guard p.hasBatchMagic() else { throw WireError(.badMagic, field: "magic", value: UInt64(p.readLE(0, as: UInt32.self))) }
        guard count > HeaderLayout.version else { throw WireError(.truncated, offset: count, field: "version") }
        let version = p.load(fromByteOffset: HeaderLayout.version, as: UInt8.self)
        guard version == WireLimits.version else {
            throw WireError(.unsupportedVersion, offset: HeaderLayout.version, field: "version", value: UInt64(version))
        }
        guard count >= WireLimits.headerLength else {
            throw WireError(.truncated, offset: count, field: "header", value: UInt64(count))
        }
        guard count <= WireLimits.maxBatchBytes else {
            throw WireError(.overLimit, field: "batch_length", value: UInt64(count))
        }
        let flags = p.load(fromByteOffset: HeaderLayout.flags, as: UInt8.self)
        guard flags == 0 else {
            throw WireError(.unsupportedFlags, offset: HeaderLayout.flags, field: "flags", value: UInt64(flags))
        }
        let headerLength = Int(p.readLE(HeaderLayout.headerLength, as: UInt16.self))
        guard headerLength >= WireLimits.headerLength, headerLength <= WireLimits.maxExtensibleLength else {
            throw WireError(.badLayout, offset: HeaderLayout.headerLength, field: "header_length", value: UInt64(headerLength))
        }
        let batchLength = Int(p.readLE(HeaderLayout.batchLength, as: UInt32.self))
        guard batchLength == count else {
            throw WireError(.lengthMismatch, offset: HeaderLayout.batchLength, field: "batch_length", value: UInt64(batchLength))
        }
        guard headerLength <= count else {
            throw WireError(.truncated, offset: count, field: "header", value: UInt64(headerLength))
        }
        let reserved = p.readLE(HeaderLayout.reserved, as: UInt16.self)
        guard reserved == 0 else {
            throw WireError(.reservedBitsSet, offset: HeaderLayout.reserved, field: "reserved", value: UInt64(reserved))
        }
        let frameLength = Int(p.readLE(HeaderLayout.frameLength, as: UInt16.self))
        guard frameLength >= WireLimits.frameLength, frameLength <= WireLimits.maxExtensibleLength else {
            throw WireError(.badLayout, offset: HeaderLayout.frameLength, field: "frame_length", value: UInt64(frameLength))
        }
        let frameCount = Int(p.readLE(HeaderLayout.frameCount, as: UInt16.self))
        guard frameCount <= WireLimits.maxFrames else {
            throw WireError(.overLimit, offset: HeaderLayout.frameCount, field: "frame_count", value: UInt64(frameCount))
        }
        let stringCount = Int(p.readLE(HeaderLayout.stringCount, as: UInt16.self))
        guard stringCount <= WireLimits.maxStrings else {
            throw WireError(.overLimit, offset: HeaderLayout.stringCount, field: "string_count", value: UInt64(stringCount))
        }
        let stringTableOffset = Int(p.readLE(HeaderLayout.stringTableOffset, as: UInt32.self))
        guard stringTableOffset >= headerLength, stringTableOffset <= count else {
            throw WireError(.lengthMismatch, offset: HeaderLayout.stringTableOffset, field: "string_table_offset",
                            value: UInt64(stringTableOffset))
        }

        generation &+= 1
        if generation == 0 {
            keyStamp.update(repeating: 0, count: WireLimits.maxStrings)
            keySlotStamp.update(repeating: 0, count: Self.keySlotCount)
            generation = 1
        }
        try indexStrings(p, from: stringTableOffset, to: count, stringCount: stringCount)
        try validateFrames(p, from: headerLength, to: stringTableOffset, frameCount: frameCount,
                           frameLength: frameLength, stringCount: stringCount)

        return BatchView(
            bytes: bytes,
            producerID: p.readLE(HeaderLayout.producerID, as: UInt64.self),
            sequence: p.readLE(HeaderLayout.sequence, as: UInt64.self),
            frameCount: frameCount, stringCount: stringCount,
            framesStart: headerLength, frameLength: frameLength,
            decoder: self)
    }

    /// Walks the string table, recording where each string starts; it must end
    /// exactly at the end of the batch.
    private func indexStrings(_ p: UnsafeRawPointer, from start: Int, to end: Int, stringCount: Int) throws(WireError) {
        var offset = start
        for index in 0..<stringCount {
            guard offset < end else { throw WireError(.truncated, offset: offset, field: "string[\(index)].length") }
            let length = Int(p.load(fromByteOffset: offset, as: UInt8.self))
            guard length > 0 else { throw WireError(.badString, offset: offset, field: "string[\(index)].length") }
            guard end - (offset + 1) >= length else {
                throw WireError(.truncated, offset: offset, field: "string[\(index)]", value: UInt64(length))
            }
            guard UTF8Validation.isValid(UnsafeRawBufferPointer(start: p + offset + 1, count: length)) else {
                throw WireError(.badString, offset: offset + 1, field: "string[\(index)].utf8")
            }
            stringStarts[index] = UInt32(truncatingIfNeeded: offset + 1)
            offset += 1 + length
        }
        guard offset == end else {
            throw WireError(.trailingBytes, offset: offset, field: "string_table", value: UInt64(end - offset))
        }
    }

    /// Checks every frame's length, references and values.
    private func validateFrames(_ p: UnsafeRawPointer, from start: Int, to end: Int, frameCount: Int,
                                frameLength: Int, stringCount: Int) throws(WireError) {
        var offset = start
        let strings = UInt16(truncatingIfNeeded: stringCount)
        // The tags of the last frame whose tags passed ``checkTags`` in this batch, and their
        // count (−1: none yet, and `checkedTags` is not read).
        var checkedTags = p
        var checkedTagCount = -1
        let late = LateFields(frameLength: frameLength)
        // Offsets and lengths stay within the batch (≤ maxBatchBytes), so the arithmetic
        // below wraps (`&+`, `&-`) instead of checking for overflow.
        for index in 0..<frameCount {
            guard end &- offset >= frameLength else {
                throw WireError(.lengthMismatch, offset: offset, frame: index, field: "frame", value: UInt64(end - offset))
            }
            let frame = p + offset
            let tagCount = Int(frame.load(fromByteOffset: FrameLayout.tagCount, as: UInt8.self))
            guard tagCount <= WireLimits.maxTags else {
                throw WireError(.tooManyTags, offset: offset + FrameLayout.tagCount, frame: index, field: "tag_count",
                                value: UInt64(tagCount))
            }
            let length = frameLength &+ tagCount &* WireLimits.tagLength
            guard end &- offset >= length else {
                throw WireError(.lengthMismatch, offset: offset, frame: index, field: "tags", value: UInt64(end - offset))
            }
            guard Self.valuesValid(frame, late, strings: strings) else {
                throw Self.explain(frame, frameLength: frameLength, offset: offset, index: index,
                                   strings: strings)
            }
            let tags = frame + frameLength
            // Producers write the same keys frame after frame: a frame whose key refs equal, in
            // order, those of the last frame checked in full needs only its values' range check.
            if !(tagCount == checkedTagCount
                    && Self.sameKeysAndValuesInRange(tags, as: checkedTags, tagCount: tagCount, strings: strings)) {
                try checkTags(tags, tagCount: tagCount, strings: strings, p, offset: offset &+ frameLength, index: index)
                checkedTags = tags
                checkedTagCount = tagCount
            }
            offset &+= length
        }
        guard offset == end else {
            throw WireError(.lengthMismatch, offset: offset, field: "string_table_offset", value: UInt64(end - offset))
        }
    }

    /// Whether the `tagCount` tags at `tags` have the key refs of the `tagCount` tags at
    /// `checked` (an earlier frame's, checked in full), in order, and every value ref below
    /// `strings`. Reads two tags (8 bytes) a load from each, never past their
    /// `tagCount × 4` bytes.
    ///
    /// The value check is a SWAR compare: with each value alone in a 32-bit lane,
    /// `value + (0x10000 − strings)` reaches bit 16 of its lane exactly when `value ≥ strings`
    /// (at most 0x1FFFF, so no lane carries into the next).
    @inline(__always)
    static func sameKeysAndValuesInRange(_ tags: UnsafeRawPointer, as checked: UnsafeRawPointer, tagCount: Int,
                                         strings: UInt16) -> Bool {
        let keys: UInt64 = 0x0000_FFFF_0000_FFFF  // a tag is key | value << 16, little-endian
        let laneBias = UInt64(0x1_0000 &- UInt32(strings))
        let bias = laneBias &* 0x0000_0001_0000_0001
        var differ: UInt64 = 0, overflow: UInt64 = 0
        let pairBytes = (tagCount & ~1) &* WireLimits.tagLength
        var at = 0
        while at < pairBytes {
            let two = UInt64(littleEndian: tags.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            let before = UInt64(littleEndian: checked.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            differ |= (two ^ before) & keys
            overflow |= ((two &>> 16) & keys) &+ bias
            at &+= 8
        }
        if tagCount & 1 != 0 {
            let one = UInt64(UInt32(littleEndian: tags.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            let before = UInt64(UInt32(littleEndian: checked.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            differ |= (one ^ before) & 0xFFFF
            overflow |= (one &>> 16) &+ laneBias
        }
        return differ == 0 && overflow & 0x0001_0000_0001_0000 == 0
    }

    /// Checks one frame's tags in full: every ref within the string table, and the keys
    /// distinct by text (a table may hold one string twice, so two refs can name one key).
    /// `offset` is the tags' offset in the batch, for the error.
    private func checkTags(_ tags: UnsafeRawPointer, tagCount: Int, strings: UInt16, _ p: UnsafeRawPointer,
                           offset: Int, index: Int) throws(WireError) {
        var seenKeys: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        try withUnsafeMutableBytes(of: &seenKeys) { (seen) throws(WireError) in
            for t in 0..<tagCount {
                let key = tags.readLE(t &* 4, as: UInt16.self), value = tags.readLE(t &* 4 &+ 2, as: UInt16.self)
                guard key < strings, value < strings else {
                    throw WireError(.stringReferenceOutOfRange, offset: offset + t * 4, frame: index,
                                    field: "tag[\(t)]", value: UInt64(key < strings ? value : key))
                }
                let text = canonicalKey(key, p)
                for s in 0..<t where seen.load(fromByteOffset: s &* 2, as: UInt16.self) == text {
                    throw WireError(.duplicateTagKey, offset: offset + t * 4, frame: index,
                                    field: "tag[\(t)].key", value: UInt64(key))
                }
                seen.storeBytes(of: text, toByteOffset: t &* 2, as: UInt16.self)
            }
        }
    }

    /// The first ref of this batch whose text equals that of `key` (< string_count, indexed).
    @inline(__always)
    private func canonicalKey(_ key: UInt16, _ p: UnsafeRawPointer) -> UInt16 {
        keyStamp[Int(key)] == generation ? keyCanonical[Int(key)] : firstKeyWithText(of: key, p)
    }

    /// Looks `key`'s text up in the batch's key set, adding it when new (once per ref and batch).
    private func firstKeyWithText(of key: UInt16, _ p: UnsafeRawPointer) -> UInt16 {
        let start = Int(stringStarts[Int(key)])
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(start: p + start, count: Int(p.load(fromByteOffset: start - 1, as: UInt8.self))))
        var slot = hasher.finalize() & (Self.keySlotCount - 1)
        var first = key
        while true {
            if keySlotStamp[slot] != generation {
                keySlotStamp[slot] = generation
                keySlots[slot] = key
                break
            }
            if sameString(keySlots[slot], key, p) {
                first = keySlots[slot]
                break
            }
            slot = (slot + 1) & (Self.keySlotCount - 1)
        }
        keyStamp[Int(key)] = generation
        keyCanonical[Int(key)] = first
        return first
    }

    /// Whether string refs `a` and `b` (both < string_count, indexed) name equal strings:
    /// the same ref, or two table entries with the same bytes.
    @inline(__always)
    private func sameString(_ a: UInt16, _ b: UInt16, _ p: UnsafeRawPointer) -> Bool {
        if a == b { return true }
        let startA = Int(stringStarts[Int(a)]), startB = Int(stringStarts[Int(b)])
        let length = p.load(fromByteOffset: startA - 1, as: UInt8.self)
        guard length == p.load(fromByteOffset: startB - 1, as: UInt8.self) else { return false }
        for i in 0..<Int(length)
        where p.load(fromByteOffset: startA + i, as: UInt8.self) != p.load(fromByteOffset: startB + i, as: UInt8.self) {
            return false
        }
        return true
    }

    /// Every value rule of FORMAT.md on one frame's fixed part, read straight from its
    /// bytes (no ``WireFrame`` built, nothing called: the hot path of every batch);
    /// ``explain`` names the rule that failed.
    @inline(__always)
    private static func valuesValid(_ frame: UnsafeRawPointer, _ late: LateFields, strings: UInt16) -> Bool {
        // Bytes 60–63 (status, ring, outcome, severity) and 64–67 (safety_kinds, tag_count,
        // reserved), one little-endian load each.
        let enumBytes = frame.readLE(FrameLayout.status, as: UInt32.self)
        let kindsAndReserved = frame.readLE(FrameLayout.safetyKinds, as: UInt32.self)
        let severityAndKinds = (enumBytes &>> 24 == 0) == (kindsAndReserved & 0xFFFF == 0)
        let enums = Self.enumBytesValid(enumBytes) && severityAndKinds
            && kindsAndReserved & (0xFF00_0000 | UInt32(~SafetyKinds.defined.rawValue)) == 0
        let references = referencesValid(frame, strings: strings)
        let latency = frame.readLE(FrameLayout.totalLatency, as: UInt32.self)
        let ttft = frame.readLE(FrameLayout.timeToFirstToken, as: UInt32.self)
        // TTFT absent (0xFFFFFFFF) or ≤ latency: plus one, absent wraps to 0 and the order holds.
        let times = UInt64(ttft &+ 1) <= UInt64(latency) &+ 1
            && (frame.readLE(FrameLayout.queueTime, as: UInt32.self) <= latency)
        let creation = UInt64(late.cacheCreationInputTokens(frame))
        let reasoning = late.reasoningOutputTokens(frame)
        let tokens = (UInt64(frame.readLE(FrameLayout.cachedInputTokens, as: UInt32.self)) + creation
                        <= UInt64(frame.readLE(FrameLayout.inputTokens, as: UInt32.self)))
            && (reasoning <= frame.readLE(FrameLayout.outputTokens, as: UInt32.self))
        return enums && references && times && tokens
    }

    /// Whether bytes 60–63 of a frame (status, ring, outcome, severity; little-endian, so
    /// status in the low byte) hold defined values, as SWAR compares: with every byte below
    /// 0x80 (bit 7 is reserved in outcome and beyond every enum), `byte + (0x80 − count)`
    /// reaches bit 7 exactly when `byte ≥ count` (at most 0xFC: no carry between bytes); and
    /// outcome's two-bit fields (task, bits 3–4; feedback, bits 5–6) are not 3, that is
    /// `outcome & outcome >> 1` has neither bit 3 nor bit 5. The counts are those of
    /// ``RequestStatus``, ``DeploymentRing`` and ``SafetySeverity``, whose raw values run
    /// from 0 without a gap; `FrameRulesTests` holds this to the vocabulary's initialisers
    /// and ``OutcomeBits/isValid`` for every value of every byte.
    @inline(__always)
    static func enumBytesValid(_ bytes: UInt32) -> Bool {
        let highBits: UInt32 = 0x8080_8080
        // 0x80 − 5 severities (lane 3), outcome's own rule (lane 2), 0x80 − 3 rings, 0x80 − 6 statuses.
        let bias: UInt32 = 0x7B00_7D7A
        let taskOrFeedbackThree: UInt32 = 0x0028_0000
        return (bytes | (bytes &+ bias)) & highBits == 0 && bytes & (bytes &>> 1) & taskOrFeedbackThree == 0
    }

    /// Whether `model` < `strings` and each optional ref (model_version, prompt_version,
    /// route, error_class) is ``WireLimits/noString`` or < `strings`, as SWAR compares:
    /// each ref alone in a 32-bit lane, an optional one as ref + 1 mod 2¹⁶ (so noString
    /// becomes 0 and "valid" is "≤ strings"); `lane + (0x10000 − bound)` then reaches bit 16
    /// of its lane exactly when `lane ≥ bound` (at most 0x1FFFF: no carry between lanes).
    @inline(__always)
    static func referencesValid(_ frame: UnsafeRawPointer, strings: UInt16) -> Bool {
        let lanes: UInt64 = 0x0000_FFFF_0000_FFFF, ones: UInt64 = 0x0000_0001_0000_0001
        let overBits: UInt64 = 0x0001_0000_0001_0000
        let s = UInt64(strings)
        let optionalBias = 0xFFFF &- s  // 0x10000 − (strings + 1)
        // model, model_version, prompt_version, route: 16 bits each, little-endian.
        let four = frame.readLE(FrameLayout.model, as: UInt64.self)
        // model (lane 0, as is) and prompt_version + 1 (lane 1; its carry out is masked off).
        let modelAndPrompt = ((four &+ (1 &<< 32)) & lanes) &+ ((0x1_0000 &- s) | optionalBias &<< 32)
        // model_version + 1 and route + 1.
        let versionAndRoute = (((four &>> 16) & lanes &+ ones) & lanes) &+ optionalBias &* ones
        let errorClass = UInt64(frame.readLE(FrameLayout.errorClass, as: UInt16.self) &+ 1) &+ optionalBias
        return (modelAndPrompt | versionAndRoute | errorClass) & overBits == 0
    }

    @inline(__always)
    private static func optionalReferenceValid(_ reference: UInt16, _ strings: UInt16) -> Bool {
        reference == WireLimits.noString || reference < strings
    }

    /// Names the first fault of a frame that failed the combined check (cold path).
    private static func explain(_ frame: UnsafeRawPointer, frameLength: Int, offset: Int, index: Int,
                                strings: UInt16) -> WireError {
        let f = FrameReference(frame, frameLength: frameLength, late: LateFields(frameLength: frameLength)).frame
        func fault(_ reason: WireRejectReason, _ at: Int, _ field: String, _ value: some FixedWidthInteger) -> WireError {
            WireError(reason, offset: offset + at, frame: index, field: field, value: UInt64(truncatingIfNeeded: value))
        }
        let status = frame.load(fromByteOffset: FrameLayout.status, as: UInt8.self)
        if RequestStatus(rawValue: status) == nil { return fault(.valueOutOfRange, FrameLayout.status, "status", status) }
        let ring = frame.load(fromByteOffset: FrameLayout.ring, as: UInt8.self)
        if DeploymentRing(rawValue: ring) == nil { return fault(.valueOutOfRange, FrameLayout.ring, "ring", ring) }
        let severity = frame.load(fromByteOffset: FrameLayout.severity, as: UInt8.self)
        if SafetySeverity(rawValue: severity) == nil {
            return fault(.valueOutOfRange, FrameLayout.severity, "safety_severity", severity)
        }
        let outcome = f.outcome.rawValue
        if outcome & 0x80 != 0 { return fault(.reservedBitsSet, FrameLayout.outcome, "outcome", outcome) }
        if !f.outcome.isValid { return fault(.valueOutOfRange, FrameLayout.outcome, "outcome", outcome) }
        let kinds = f.safetyKinds.rawValue
        if kinds & ~SafetyKinds.defined.rawValue != 0 {
            return fault(.reservedBitsSet, FrameLayout.safetyKinds, "safety_kinds", kinds)
        }
        let reserved = frame.load(fromByteOffset: FrameLayout.reserved, as: UInt8.self)
        if reserved != 0 { return fault(.reservedBitsSet, FrameLayout.reserved, "reserved", reserved) }
        if f.model >= strings { return fault(.stringReferenceOutOfRange, FrameLayout.model, "model", f.model) }
        let optional: [(Int, String, UInt16)] = [
            (FrameLayout.modelVersion, "model_version", f.modelVersion),
            (FrameLayout.promptVersion, "prompt_version", f.promptVersion),
            (FrameLayout.route, "route", f.route), (FrameLayout.errorClass, "error_class", f.errorClass),
        ]
        for (at, name, reference) in optional where !optionalReferenceValid(reference, strings) {
            return fault(.stringReferenceOutOfRange, at, name, reference)
        }
        if (f.safetySeverity == .none) != (kinds == 0) {
            return fault(.valueOutOfRange, FrameLayout.safetyKinds, "safety_kinds", kinds)
        }
        if f.timeToFirstTokenMicros != WireLimits.absent32 && f.timeToFirstTokenMicros > f.totalLatencyMicros {
            return fault(.valueOutOfRange, FrameLayout.timeToFirstToken, "time_to_first_token", f.timeToFirstTokenMicros)
        }
        if f.queueTimeMicros > f.totalLatencyMicros {
            return fault(.valueOutOfRange, FrameLayout.queueTime, "queue_time", f.queueTimeMicros)
        }
        if f.cachedInputTokens > f.inputTokens {
            return fault(.valueOutOfRange, FrameLayout.cachedInputTokens, "cached_input_tokens", f.cachedInputTokens)
        }
        if f.reasoningOutputTokens > f.outputTokens {
            return fault(.valueOutOfRange, FrameLayout.reasoningOutputTokens, "reasoning_output_tokens", f.reasoningOutputTokens)
        }
        return fault(.valueOutOfRange, FrameLayout.cacheCreationInputTokens, "cache_creation_input_tokens", f.cacheCreationInputTokens)
    }

}
