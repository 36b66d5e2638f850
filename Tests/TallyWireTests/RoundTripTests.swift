import Testing
import TallySynthetic
@testable import TallyWire

/// Encodes `frames` into as many batches as needed and decodes them back.
func roundTrip(_ frames: [TraceFrame], capacity: Int = 65_536) throws -> (decoded: [TraceFrame], batches: Int) {
    let encoder = BatchEncoder(capacity: capacity, producerID: 42)
    let decoder = BatchDecoder()
    var decoded: [TraceFrame] = []
    var batches = 0
    func flush() throws {
        let bytes = encoder.finish(sequence: UInt64(batches))
        let view = try decoder.decode(bytes)
        #expect(view.producerID == 42)
        #expect(view.sequence == UInt64(batches))
        #expect(view.frameCount == encoder.frameCount)
        decoded += view.frames.map { view.traceFrame($0) }
        batches += 1
        encoder.reset()
    }
    for frame in frames {
        if try !encoder.append(frame) {
            try flush()
            #expect(try encoder.append(frame), "a frame that did not fit must fit an empty batch")
        }
    }
    if !encoder.isEmpty { try flush() }
    return (decoded, batches)
}

let fullFrame = TraceFrame(
    eventTimeMicros: 1_763_000_000_123_456, model: "llama-3.1-70b", modelVersion: "2024-07-23",
    promptVersion: "p7", route: "chat", ring: .canary,
    tags: [CohortTag("tenant", "acme"), CohortTag("region", "eu"), CohortTag("lang", "de"), CohortTag("tier", "pro")],
    queueTimeMicros: 1_200, timeToFirstTokenMicros: 180_000, totalLatencyMicros: 2_400_000,
    inputTokens: 1_024, outputTokens: 512, cachedInputTokens: 256, cacheCreationInputTokens: 700, reasoningOutputTokens: 300,
    status: .error, errorClass: "oom",
    outcome: OutcomeBits(refusal: true, escalation: false, fallback: true, task: .failure, feedback: .down),
    safetyKinds: [.privacy, .other], safetySeverity: .high,
    userHash: IdentifierHash.hash("user-1"), sessionHash: IdentifierHash.hash("session-1"), categoryID: 17)

@Suite struct RoundTripTests {
    @Test func everyFieldSurvives() throws {
        let minimal = TraceFrame(eventTimeMicros: 0, model: "m", totalLatencyMicros: 0)
        let (decoded, batches) = try roundTrip([fullFrame, minimal, fullFrame])
        #expect(batches == 1)
        #expect(decoded == [fullFrame, minimal, fullFrame])
    }

    @Test func stringsAreStoredOncePerBatch() throws {
        let encoder = BatchEncoder()
        for _ in 0..<100 { #expect(try encoder.append(fullFrame)) }
        let view = try BatchDecoder().decode(encoder.finish(sequence: 0))
        // model, version, prompt, route, error class, 4 keys, 4 values
        #expect(view.stringCount == 13)
        // 40 header + 100 × (76 + 4 × 4) + 13 length bytes + 63 string bytes
        #expect(view.bytes.count == 40 + 100 * 92 + 13 + 63)
    }

    @Test(arguments: [1, 7, 1234])
    func randomFleetFramesRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let fleet = SyntheticFleet()
        let frames = (0..<5_000).map { fleet.frame(eventTimeMicros: 1_700_000_000_000_000 + UInt64($0), &rng) }
        let (decoded, batches) = try roundTrip(frames)
        #expect(batches > 1, "5,000 frames of ~92 B need several 64 KiB batches")
        #expect(decoded == frames)
    }

    @Test func randomFieldValuesRoundTrip() throws {
        var rng = SplitMix64(seed: 99)
        func randomString() -> String {
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzé日本-_.0123456789")
            return String((0..<Int(1 + rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        var frames: [TraceFrame] = []
        for _ in 0..<3_000 {
            let total = UInt32(truncatingIfNeeded: rng.next())
            let input = UInt32(truncatingIfNeeded: rng.next())
            var tags: [CohortTag] = []
            for k in 0..<Int(rng.next() % 9) { tags.append(CohortTag("k\(k)", randomString())) }
            let severity = SafetySeverity(rawValue: UInt8(rng.next() % 5))!
            frames.append(TraceFrame(
                eventTimeMicros: rng.next(), model: randomString(),
                modelVersion: rng.next() % 2 == 0 ? randomString() : nil,
                promptVersion: rng.next() % 2 == 0 ? randomString() : nil,
                route: rng.next() % 2 == 0 ? randomString() : nil,
                ring: DeploymentRing(rawValue: UInt8(rng.next() % 3))!, tags: tags,
                queueTimeMicros: total == 0 ? 0 : UInt32(rng.next() % UInt64(total)),
                timeToFirstTokenMicros: rng.next() % 2 == 0 ? min(total, 0xFFFF_FFFE) : nil,
                totalLatencyMicros: total, inputTokens: input, outputTokens: UInt32(truncatingIfNeeded: rng.next()),
                cachedInputTokens: input == 0 ? 0 : UInt32(rng.next() % UInt64(input)),
                status: RequestStatus(rawValue: UInt8(rng.next() % 6))!,
                errorClass: rng.next() % 2 == 0 ? randomString() : nil,
                outcome: OutcomeBits(refusal: rng.next() % 2 == 0, escalation: rng.next() % 2 == 0,
                                     fallback: rng.next() % 2 == 0, task: TaskOutcome(rawValue: UInt8(rng.next() % 3))!,
                                     feedback: Feedback(rawValue: UInt8(rng.next() % 3))!),
                safetyKinds: severity == .none ? [] : SafetyKinds(rawValue: UInt16(1 + rng.next() % 0x3FF)),
                safetySeverity: severity, userHash: rng.next(), sessionHash: rng.next(),
                categoryID: rng.next() % 2 == 0 ? UInt16(rng.next() % 0xFFFF) : nil))
        }
        let (decoded, _) = try roundTrip(frames, capacity: 8_192)
        #expect(decoded == frames)
    }

    @Test func fullBatchRejectsFrameAndStaysIntact() throws {
        let encoder = BatchEncoder(capacity: 1024)
        var appended = 0
        while try encoder.append(fullFrame) { appended += 1 }
        #expect(appended > 0)
        #expect(encoder.frameCount == appended)
        #expect(encoder.byteCount <= 1024)
        let view = try BatchDecoder().decode(encoder.finish(sequence: 3))
        #expect(view.frameCount == appended)
        #expect(view.frames.allSatisfy { view.traceFrame($0) == fullFrame })
    }

    @Test func frameTooLargeForAnyBatchThrows() {
        let long = String(repeating: "x", count: 255)
        let tags = (0..<8).map { CohortTag("\(long.dropLast())\($0)", long) }
        let frame = TraceFrame(eventTimeMicros: 1, model: long, tags: tags, totalLatencyMicros: 1)
        let encoder = BatchEncoder(capacity: 1024)
        #expect(throws: WireError.self) { try encoder.append(frame) }
        #expect(encoder.isEmpty)
    }

    @Test func invalidFramesAreRefusedByTheEncoder() {
        let encoder = BatchEncoder()
        func reason(_ change: (inout TraceFrame) -> Void) -> WireRejectReason? {
            var frame = fullFrame
            change(&frame)
            do { _ = try encoder.append(frame); return nil } catch { return error.reason }
        }
        #expect(reason { $0.model = "" } == .badString)
        #expect(reason { $0.route = String(repeating: "r", count: 256) } == .badString)
        #expect(reason { $0.tags += (0..<5).map { CohortTag("extra\($0)", "v") } } == .tooManyTags)
        #expect(reason { $0.tags[1].key = "tenant" } == .duplicateTagKey)
        #expect(reason { $0.timeToFirstTokenMicros = $0.totalLatencyMicros + 1 } == .valueOutOfRange)
        #expect(reason { $0.queueTimeMicros = $0.totalLatencyMicros + 1 } == .valueOutOfRange)
        #expect(reason { $0.cachedInputTokens = $0.inputTokens + 1 } == .valueOutOfRange)
        #expect(reason { $0.safetySeverity = .none } == .valueOutOfRange)
        #expect(reason { $0.safetyKinds = SafetyKinds(rawValue: 1 << 12) } == .reservedBitsSet)
        #expect(reason { $0.outcome = OutcomeBits(rawValue: 0x18) } == .valueOutOfRange)
        #expect(reason { $0.categoryID = 0xFFFF } == .valueOutOfRange)
        #expect(encoder.isEmpty, "refused frames leave nothing behind")
        #expect(throws: Never.self) { try encoder.append(fullFrame) }
    }

    @Test func identifierHashIsFNV1a() {
        // Published FNV-1a-64 test vectors.
        #expect(IdentifierHash.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(IdentifierHash.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(IdentifierHash.hash("foobar") == 0x8594_4171_f739_67e8)
    }
}
