import Testing
@testable import TallyWire

/// `BatchEncoder.carryStrings(from:)` and `resetKeepingStrings()`: a batch that starts with
/// the last batch's strings decodes to the frames appended to it, interns none of the carried
/// label sets again, never carries more than its limit, and gives carried strings up for a
/// frame that needs the room.
@Suite struct CarriedStringsTests {
    static let labelSets = (0..<6).map { i in
        try! FrameLabels(model: "model-\(i % 3)", modelVersion: "v\(i % 2)", route: "chat",
                         tags: [CohortTag("tenant", "tenant-\(i)"), CohortTag("tier", i % 2 == 0 ? "free" : "pro")])
    }

    static func measures(_ i: Int) -> FrameMeasures {
        FrameMeasures(eventTimeMicros: 1_763_700_000_000_000 + UInt64(i), totalLatencyMicros: 1_000 + UInt32(i),
                      inputTokens: 10, outputTokens: UInt32(i % 100), status: i % 7 == 0 ? .error : .ok)
    }

    /// The frame ``append(_:_:errorClass:)`` makes of label set `labels` and measures `i`.
    static func frame(_ labels: FrameLabels, _ i: Int) -> TraceFrame {
        let m = measures(i)
        return TraceFrame(eventTimeMicros: m.eventTimeMicros, model: labels.model, modelVersion: labels.modelVersion,
                          promptVersion: labels.promptVersion, route: labels.route, ring: labels.ring, tags: labels.tags,
                          totalLatencyMicros: m.totalLatencyMicros, inputTokens: m.inputTokens, outputTokens: m.outputTokens,
                          status: m.status, errorClass: m.status == .error ? "oom" : nil)
    }

    static func decode(_ encoder: BatchEncoder) throws -> [TraceFrame] {
        let bytes = Array(encoder.finish(sequence: 0))
        return try bytes.withUnsafeBytes { raw in
            let view = try BatchDecoder().decode(raw)
            return view.frames.map { view.traceFrame($0) }
        }
    }

    @Test func aCarriedBatchDecodesAndInternsNothingAgain() throws {
        let previous = BatchEncoder(capacity: 16_384)
        var i = 0
        while try previous.append(Self.labelSets[i % 6], Self.measures(i), errorClass: i % 7 == 0 ? "oom" : nil) { i += 1 }
        let tableBytes = previous.byteCount - previous.frameCount * (WireLimits.encodedFrameLength + 2 * WireLimits.tagLength)
            - WireLimits.headerLength
        #expect(tableBytes > 0 && tableBytes <= previous.carriedStringBytesLimit)

        let next = BatchEncoder(capacity: 16_384)
        #expect(next.carryStrings(from: previous))
        #expect(next.byteCount == WireLimits.headerLength + tableBytes, "the carried table, no frame")
        var expected: [TraceFrame] = []
        for j in 0..<60 {
            let labels = Self.labelSets[(j * 5) % 6]
            #expect(try next.append(labels, Self.measures(j), errorClass: j % 7 == 0 ? "oom" : nil))
            expected.append(Self.frame(labels, j))
            // Every string (label sets and the error class) was carried: the table does not grow.
            #expect(next.byteCount == WireLimits.headerLength + tableBytes
                        + (j + 1) * (WireLimits.encodedFrameLength + 2 * WireLimits.tagLength))
        }
        // The whole-frame path finds the carried strings too.
        var whole = Self.frame(Self.labelSets[1], 60)
        whole.eventTimeMicros += 1
        #expect(try next.append(whole))
        expected.append(whole)
        #expect(next.byteCount == WireLimits.headerLength + tableBytes
                    + 61 * (WireLimits.encodedFrameLength + 2 * WireLimits.tagLength))
        #expect(try Self.decode(next) == expected)
    }

    @Test func aTableOverTheLimitIsNotCarried() throws {
        let previous = BatchEncoder(capacity: 1_024)
        // 1/16 of 1,024 bytes is 64: two 40-byte strings are over it.
        let labels = try FrameLabels(model: String(repeating: "m", count: 40), route: String(repeating: "r", count: 40))
        #expect(try previous.append(labels, Self.measures(0)))
        let next = BatchEncoder(capacity: 1_024)
        #expect(!next.carryStrings(from: previous))
        #expect(next.byteCount == WireLimits.headerLength)
        previous.resetKeepingStrings()
        #expect(previous.byteCount == WireLimits.headerLength, "over the limit, resetKeepingStrings empties the table")
    }

    @Test func carriedStringsMakeRoomForAFrameThatNeedsIt() throws {
        let small = try FrameLabels(model: "a-small-model-name", route: "chat-completions")
        let previous = BatchEncoder(capacity: 1_024)
        #expect(try previous.append(small, Self.measures(0)))
        let next = BatchEncoder(capacity: 1_024)
        #expect(next.carryStrings(from: previous))
        let carried = next.byteCount
        // A frame that fits an empty 1,024-byte batch only: 40 + 76 + 4 × (1 + 220) = 1,000 bytes.
        let big = try FrameLabels(model: String(repeating: "a", count: 220), modelVersion: String(repeating: "b", count: 220),
                                  promptVersion: String(repeating: "c", count: 220), route: String(repeating: "d", count: 220))
        #expect(carried + WireLimits.encodedFrameLength + 4 * 221 > 1_024)
        #expect(try !next.append(big, Self.measures(1)), "no room beside the carried strings")
        #expect(next.byteCount == WireLimits.headerLength && next.isEmpty, "the carried strings were dropped")
        #expect(try next.append(big, Self.measures(1)))
        #expect(try Self.decode(next) == [Self.frame(big, 1)])
    }

    @Test func resetKeepingStringsKeepsThemForTheNextFrames() throws {
        let encoder = BatchEncoder(capacity: 4_096)
        #expect(try encoder.append(Self.labelSets[0], Self.measures(0)))
        let tableBytes = encoder.byteCount - WireLimits.headerLength - WireLimits.encodedFrameLength - 2 * WireLimits.tagLength
        encoder.resetKeepingStrings()
        #expect(encoder.isEmpty && encoder.byteCount == WireLimits.headerLength + tableBytes)
        #expect(try encoder.append(Self.labelSets[0], Self.measures(1)))
        #expect(encoder.byteCount == WireLimits.headerLength + tableBytes + WireLimits.encodedFrameLength + 2 * WireLimits.tagLength)
        #expect(try Self.decode(encoder) == [Self.frame(Self.labelSets[0], 1)])
        // After finish, too (the client's sender resets what it sent; a dropped batch keeps its strings).
        encoder.resetKeepingStrings()
        #expect(try encoder.append(Self.labelSets[0], Self.measures(2)))
        #expect(try Self.decode(encoder) == [Self.frame(Self.labelSets[0], 2)])
    }
}
