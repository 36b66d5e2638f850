import Testing
import TallyWire

/// Builds batches byte by byte from the tables of FORMAT.md, without the encoder,
/// so that the specification and the code cannot drift apart.
@Suite struct SpecConformanceTests {
    /// The example of FORMAT.md (revision 1.1), typed in from its hex dump.
    static let example: [UInt8] = [
        0x54, 0x4C, 0x59, 0x42, 0x01, 0x00, 0x28, 0x00, 0x7E, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x03, 0x00, 0x4C, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xE1, 0xF5, 0x05, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x0A, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xE8, 0x03, 0x00, 0x00,
        0x05, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x02, 0x00,
        0x01, 0x6D, 0x01, 0x74, 0x01, 0x76,
    ]

    /// The same frame from a revision 1.0 producer, made the way FORMAT.md describes it
    /// after the example: batch_length 118, strings at 112, frame_length 68, and without
    /// the line of bytes 68–75.
    static let revision10Example: [UInt8] = {
        var bytes = example
        bytes.removeSubrange((40 + 68)..<(40 + 76))
        bytes[8] = 0x76; bytes[12] = 0x70; bytes[20] = 0x44
        return bytes
    }()

    static let exampleFrame = TraceFrame(eventTimeMicros: 100_000_000, model: "m", tags: [CohortTag("t", "v")],
                                         queueTimeMicros: 10, totalLatencyMicros: 1000, inputTokens: 5, outputTokens: 7)

    @Test(arguments: [(example, 126), (revision10Example, 118)])
    func formatExamplesDecode(bytes: [UInt8], length: Int) throws {
        #expect(bytes.count == length)
        try bytes.withUnsafeBytes { bytes in
            let view = try BatchDecoder().decode(bytes)
            #expect(view.producerID == 7)
            #expect(view.sequence == 0)
            let frames = Array(view.frames)
            #expect(frames.count == 1)
            #expect(view.traceFrame(frames[0]) == Self.exampleFrame)
        }
    }

    /// Little-endian writer used to build batches field by field from the tables.
    struct Bytes {
        var data: [UInt8] = []
        mutating func u8(_ v: UInt8) { data.append(v) }
        mutating func u16(_ v: UInt16) { for i in 0..<2 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        mutating func string(_ s: String) { u8(UInt8(s.utf8.count)); data += s.utf8 }
    }

    /// A two-frame batch with every field set, an extended header (48 bytes) and an
    /// extended frame (84 bytes: revision 1.1's 76 and a later field): the compatibility
    /// rule says a v1 decoder skips what it does not know.
    @Test func handBuiltBatchWithExtensionsDecodes() throws {
        let strings = ["gpt-x", "v2", "p9", "chat", "timeout_upstream", "tenant", "acme", "region", "eu"]
        var frames = Bytes()
        for i in 0..<2 {
            frames.u64(1_700_000_000_000_000 + UInt64(i))  // 0 event_time
            frames.u64(0xDEAD_BEEF)                         // 8 user_hash
            frames.u64(0xFEED)                              // 16 session_hash
            frames.u32(500)                                 // 24 queue_time
            frames.u32(40_000)                              // 28 time_to_first_token
            frames.u32(90_000)                              // 32 total_latency
            frames.u32(300)                                 // 36 input_tokens
            frames.u32(120)                                 // 40 output_tokens
            frames.u32(100)                                 // 44 cached_input_tokens
            frames.u16(0); frames.u16(1); frames.u16(2); frames.u16(3)  // 48 model, version, prompt, route
            frames.u16(4)                                   // 56 error_class
            frames.u16(12)                                  // 58 category_id
            frames.u8(2)                                    // 60 status = timeout
            frames.u8(1)                                    // 61 ring = canary
            frames.u8(0b0101_0011)                          // 62 refusal, escalation, task=failure(2), feedback=down(2)
            frames.u8(3)                                    // 63 severity = high
            frames.u16(1 << 7)                              // 64 kinds = prompt_injection
            frames.u8(2)                                    // 66 tag_count
            frames.u8(0)                                    // 67 reserved
            frames.u32(150)                                 // 68 cache_creation_input_tokens (1.1)
            frames.u32(40)                                  // 72 reasoning_output_tokens (1.1)
            frames.u64(0xAAAA_AAAA_AAAA_AAAA)               // 76..83: a future field, skipped
            frames.u16(5); frames.u16(6)                    // tag tenant=acme
            frames.u16(7); frames.u16(8)                    // tag region=eu
        }
        var table = Bytes()
        for s in strings { table.string(s) }
        let headerLength = 48
        var batch = Bytes()
        batch.data += [0x54, 0x4C, 0x59, 0x42]
        batch.u8(1); batch.u8(0); batch.u16(UInt16(headerLength))
        batch.u32(UInt32(headerLength + frames.data.count + table.data.count))
        batch.u32(UInt32(headerLength + frames.data.count))
        batch.u16(2); batch.u16(UInt16(strings.count)); batch.u16(84); batch.u16(0)
        batch.u64(0x1234); batch.u64(99)
        batch.u64(0xFFFF_FFFF_FFFF_FFFF)  // 40..47: a future header field, skipped by v1
        batch.data += frames.data + table.data

        try batch.data.withUnsafeBytes { bytes in
            let view = try BatchDecoder().decode(bytes)
            #expect(view.producerID == 0x1234 && view.sequence == 99)
            let decoded = view.frames.map { view.traceFrame($0) }
            #expect(decoded.count == 2)
            let f = decoded[1]
            #expect(f.eventTimeMicros == 1_700_000_000_000_001)
            #expect(f.userHash == 0xDEAD_BEEF && f.sessionHash == 0xFEED)
            #expect(f.queueTimeMicros == 500 && f.timeToFirstTokenMicros == 40_000 && f.totalLatencyMicros == 90_000)
            #expect(f.inputTokens == 300 && f.outputTokens == 120 && f.cachedInputTokens == 100)
            #expect(f.cacheCreationInputTokens == 150 && f.reasoningOutputTokens == 40)
            #expect(f.model == "gpt-x" && f.modelVersion == "v2" && f.promptVersion == "p9" && f.route == "chat")
            #expect(f.errorClass == "timeout_upstream" && f.categoryID == 12)
            #expect(f.status == .timeout && f.ring == .canary)
            #expect(f.outcome.refusal && f.outcome.escalation && !f.outcome.fallback)
            #expect(f.outcome.task == .failure && f.outcome.feedback == .down)
            #expect(f.safetySeverity == .high && f.safetyKinds == .promptInjection)
            #expect(f.tags == [CohortTag("tenant", "acme"), CohortTag("region", "eu")])
        }
    }

    /// The encoder's output matches the spec's layout at the documented offsets.
    @Test func encoderWritesTheDocumentedLayout() throws {
        let encoder = BatchEncoder(producerID: 7)
        #expect(try encoder.append(Self.exampleFrame))
        let bytes = Array(encoder.finish(sequence: 0))
        #expect(bytes == Self.example)
    }

    /// A frame_length of 72 carries cache writes but not reasoning: a field is read only
    /// when it lies within frame_length, and the reasoning tokens are 0.
    @Test func aFieldPastFrameLengthIsZero() throws {
        var bytes = Self.revision10Example
        bytes.insert(contentsOf: [0x03, 0x00, 0x00, 0x00], at: 40 + 68)  // cache writes 3 (input is 5)
        bytes[8] = UInt8(bytes.count); bytes[12] = 0x74; bytes[20] = 72
        try bytes.withUnsafeBytes { buffer in
            let view = try BatchDecoder().decode(buffer)
            let frame = view.traceFrame(try #require(view.frames.first { _ in true }))
            #expect(frame.cacheCreationInputTokens == 3 && frame.reasoningOutputTokens == 0)
            #expect(frame.tags == [CohortTag("t", "v")])
        }
    }
}
