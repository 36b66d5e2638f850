import Testing
import TallySynthetic
import TallyWire

/// The frames read in place (``BatchView/frameReferences``, the ingest path) hold what
/// the producer recorded, field by field, read straight from the batch's bytes and not
/// through the ``WireFrame`` copy.
@Suite struct FrameReferenceTests {
    /// Every field of every reference equals the recorded frame's, across tag counts 0 … 8
    /// (so each frame's length differs and the iterator must step over its tags), every
    /// status, ring and severity, and absent optional fields.
    @Test func everyFieldReadInPlaceIsTheRecordedOne() throws {
        var rng = SplitMix64(seed: 16)
        let fleet = SyntheticFleet(tenants: 20, users: 500)
        let severities: [SafetySeverity] = [.none, .low, .medium, .high, .critical]
        let frames: [TraceFrame] = (0..<90).map { i in
            var frame = fleet.frame(eventTimeMicros: 1_763_000_000_000_000 &+ UInt64(i), &rng)
            frame.tags = (0..<(i % 9)).map { CohortTag("k\($0)", "v\(i % 5)-\($0)") }
            frame.status = RequestStatus.allCases[i % RequestStatus.allCases.count]
            frame.ring = DeploymentRing.allCases[i % DeploymentRing.allCases.count]
            frame.safetySeverity = severities[i % severities.count]
            frame.safetyKinds = frame.safetySeverity == .none ? [] : .privacy
            frame.modelVersion = i % 4 == 0 ? nil : "v\(i % 3)"
            frame.errorClass = i % 6 == 1 ? "oom" : nil
            frame.categoryID = i % 7 == 0 ? nil : UInt16(i)
            frame.timeToFirstTokenMicros = i % 5 == 0 ? nil : frame.totalLatencyMicros / 2
            frame.cacheCreationInputTokens = frame.inputTokens / 4
            frame.reasoningOutputTokens = frame.outputTokens / 3
            return frame
        }
        let encoder = BatchEncoder(capacity: 65_536, producerID: 3)
        for frame in frames { #expect(try encoder.append(frame)) }
        let bytes = Array(encoder.finish(sequence: 0))
        try bytes.withUnsafeBytes { buffer in
            let view = try BatchDecoder().decode(buffer)
            var read = 0
            for (reference, expected) in zip(view.frameReferences, frames) {
                read += 1
                #expect(reference.eventTimeMicros == expected.eventTimeMicros)
                #expect(reference.userHash == expected.userHash && reference.sessionHash == expected.sessionHash)
                #expect(reference.queueTimeMicros == expected.queueTimeMicros)
                #expect(reference.timeToFirstTokenMicros == (expected.timeToFirstTokenMicros ?? WireLimits.absent32))
                #expect(reference.totalLatencyMicros == expected.totalLatencyMicros)
                #expect(reference.inputTokens == expected.inputTokens && reference.outputTokens == expected.outputTokens)
                #expect(reference.cachedInputTokens == expected.cachedInputTokens)
                #expect(reference.cacheCreationInputTokens == expected.cacheCreationInputTokens)
                #expect(reference.reasoningOutputTokens == expected.reasoningOutputTokens)
                #expect(view.string(reference.model) == expected.model)
                #expect(view.string(reference.modelVersion) == expected.modelVersion)
                #expect(view.string(reference.promptVersion) == expected.promptVersion)
                #expect(view.string(reference.route) == expected.route)
                #expect(view.string(reference.errorClass) == expected.errorClass)
                #expect(reference.categoryID == (expected.categoryID ?? WireLimits.noCategory))
                #expect(reference.status == expected.status && reference.ring == expected.ring)
                #expect(reference.outcome == expected.outcome)
                #expect(reference.safetySeverity == expected.safetySeverity && reference.safetyKinds == expected.safetyKinds)
                #expect(Int(reference.tagCount) == expected.tags.count && reference.tags.count == expected.tags.count)
                let tags = reference.tags.map { CohortTag(view.string($0.key) ?? "", view.string($0.value) ?? "") }
                #expect(tags == expected.tags)
                let byIndex = (0..<Int(reference.tagCount)).map { i in
                    let (key, value) = reference.tag(i)
                    return CohortTag(view.string(key) ?? "", view.string(value) ?? "")
                }
                #expect(byIndex == expected.tags)
                // The copy agrees with the reference it was made from.
                #expect(view.traceFrame(reference.frame) == expected)
            }
            #expect(read == frames.count && view.frameReferences.underestimatedCount == frames.count)
        }
    }
}
