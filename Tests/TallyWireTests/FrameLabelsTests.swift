import Testing
import TallySynthetic
@testable import TallyWire

/// `BatchEncoder.append(_:_:)` (prebuilt labels) against `append(_:)` (whole frames):
/// the same frames make batches of the same sizes that decode to the same frames (the
/// string tables list the same strings, in another order: the labeled path interns the
/// error class after the labels), with label sets reused, new, colliding in the cache,
/// and across full batches and resets.
@Suite struct FrameLabelsTests {
    /// Encodes `frames` both ways into batches of `capacity` bytes; returns both byte streams.
    static func encodeBothWays(_ frames: [TraceFrame], labels: [FrameLabels], capacity: Int) throws -> ([[UInt8]], [[UInt8]]) {
        func run(_ append: (BatchEncoder, Int) throws -> Bool) throws -> [[UInt8]] {
            let encoder = BatchEncoder(capacity: capacity, producerID: 9)
            var out: [[UInt8]] = []
            for i in frames.indices {
                if try !append(encoder, i) {
                    out.append(Array(encoder.finish(sequence: UInt64(out.count))))
                    encoder.reset()
                    #expect(try append(encoder, i), "an empty batch takes the frame")
                }
            }
            out.append(Array(encoder.finish(sequence: UInt64(out.count))))
            return out
        }
        let whole = try run { try $0.append(frames[$1]) }
        let labeled = try run { try $0.append(labels[$1], FrameMeasures(of: frames[$1]), errorClass: frames[$1].errorClass) }
        return (whole, labeled)
    }

    @Test func labeledFramesEncodeToTheSameBytes() throws {
        var rng = SplitMix64(seed: 77)
        let fleet = SyntheticFleet(tenants: 20, users: 1_000)
        let distinct = (0..<300).map { fleet.frame(eventTimeMicros: 1_763_700_000_000_000 + $0, &rng) }
        // Frames cycling over 300 label sets (more than the cache's 64 slots: misses and
        // collisions), each label set one FrameLabels object reused.
        let labelSets = try distinct.map { try FrameLabels(of: $0) }
        var frames: [TraceFrame] = []
        var labels: [FrameLabels] = []
        for i in 0..<5_000 {
            let pick = Int(rng.next() % (i % 3 == 0 ? 300 : 16))
            var frame = fleet.frame(eventTimeMicros: 1_763_700_001_000_000 + UInt64(i), &rng)
            let template = distinct[pick]
            frame.model = template.model
            frame.modelVersion = template.modelVersion
            frame.promptVersion = template.promptVersion
            frame.route = template.route
            frame.ring = template.ring
            frame.tags = template.tags
            frames.append(frame)
            labels.append(labelSets[pick])
        }
        for capacity in [2_048, 65_536] {
            let (whole, labeled) = try Self.encodeBothWays(frames, labels: labels, capacity: capacity)
            #expect(whole.count == labeled.count && whole.count >= 1, "capacity \(capacity)")
            #expect(whole.map(\.count) == labeled.map(\.count), "capacity \(capacity): batches of the same sizes")
            let decoder = BatchDecoder()
            func decode(_ batches: [[UInt8]]) throws -> [[TraceFrame]] {
                try batches.map { batch in
                    try batch.withUnsafeBytes { raw in
                        let view = try decoder.decode(raw)
                        return view.frames.map { view.traceFrame($0) }
                    }
                }
            }
            let decoded = try decode(labeled)
            #expect(decoded == (try decode(whole)), "capacity \(capacity): the same frames in the same batches")
            #expect(decoded.flatMap { $0 } == frames)
        }
    }

    /// Each optional label present or absent, with 0 … 8 tags (the reference slots the packed
    /// strings go to), and frames with and without an error class: both paths decode alike.
    @Test func everyShapeOfLabelsEncodesAsAWholeFrame() throws {
        var frames: [TraceFrame] = []
        var labels: [FrameLabels] = []
        for shape in 0..<8 {
            for tagCount in 0...8 {
                var frame = TraceFrame(eventTimeMicros: UInt64(shape * 16 + tagCount), model: "model-\(shape)",
                                       totalLatencyMicros: 1_000)
                frame.modelVersion = shape & 1 != 0 ? "version-\(tagCount)" : nil
                frame.promptVersion = shape & 2 != 0 ? "prompt" : nil
                frame.route = shape & 4 != 0 ? "a-route-name-longer-than-sixteen-bytes" : nil
                frame.tags = (0..<tagCount).map { CohortTag("key\($0)", "value-\(shape)-\($0)") }
                frame.status = tagCount % 2 == 0 ? .ok : .error
                frame.errorClass = tagCount % 2 == 0 ? nil : "oom"
                frames.append(frame)
                labels.append(try FrameLabels(of: frame))
            }
        }
        // Twice over: the second pass finds every label set cached in the batch.
        frames += frames
        labels += labels
        for capacity in [1_024, 65_536] {
            let (whole, labeled) = try Self.encodeBothWays(frames, labels: labels, capacity: capacity)
            let decoder = BatchDecoder()
            func decode(_ batches: [[UInt8]]) throws -> [TraceFrame] {
                try batches.flatMap { batch in
                    try batch.withUnsafeBytes { raw in
                        let view = try decoder.decode(raw)
                        return view.frames.map { view.traceFrame($0) }
                    }
                }
            }
            #expect(try decode(labeled) == frames, "capacity \(capacity)")
            #expect(try decode(whole) == frames, "capacity \(capacity)")
        }
    }

    @Test func badLabelsAreRefusedWhenMade() {
        #expect(throws: WireError.self) { try FrameLabels(model: "") }
        #expect(throws: WireError.self) { try FrameLabels(model: String(repeating: "m", count: 256)) }
        #expect(throws: WireError.self) { try FrameLabels(model: "m", route: "") }
        #expect(throws: WireError.self) { try FrameLabels(model: "m", tags: (0..<9).map { CohortTag("k\($0)", "v") }) }
        #expect(throws: WireError.self) { try FrameLabels(model: "m", tags: [CohortTag("k", "a"), CohortTag("k", "b")]) }
        #expect(throws: Never.self) { try FrameLabels(model: "m", tags: (0..<8).map { CohortTag("k\($0)", "v") }) }
    }

    @Test func badMeasuresAreRefusedAndLeaveTheBatchAsItWas() throws {
        let encoder = BatchEncoder(capacity: 4_096)
        let labels = try FrameLabels(model: "m", modelVersion: "v1", tags: [CohortTag("tenant", "acme")])
        #expect(try encoder.append(labels, FrameMeasures(eventTimeMicros: 1, totalLatencyMicros: 10)))
        let bytes = encoder.byteCount
        // TTFT beyond the total latency.
        #expect(throws: WireError.self) {
            try encoder.append(labels, FrameMeasures(eventTimeMicros: 2, timeToFirstTokenMicros: 11, totalLatencyMicros: 10))
        }
        #expect(throws: WireError.self) {
            try encoder.append(labels, FrameMeasures(eventTimeMicros: 2, totalLatencyMicros: 10), errorClass: "")
        }
        #expect(encoder.byteCount == bytes && encoder.frameCount == 1)
    }

    /// `place`, the client's path, says what `append` says without throwing: appended,
    /// full (batch unchanged), or refused with the error kept in `refusal`.
    @Test func placeReportsAppendedFullAndRefused() throws {
        let encoder = BatchEncoder(capacity: 1_024)
        let labels = try FrameLabels(model: "m", modelVersion: "v1", tags: [CohortTag("tenant", "acme")])
        let good = FrameMeasures(eventTimeMicros: 1, totalLatencyMicros: 10)
        #expect(encoder.place(labels, good, errorClass: nil) == true)
        #expect(encoder.refusal == nil)

        let bad = FrameMeasures(eventTimeMicros: 2, queueTimeMicros: 11, totalLatencyMicros: 10)
        let bytes = encoder.byteCount
        #expect(encoder.place(labels, bad, errorClass: nil) == nil)
        #expect(encoder.refusal?.reason == .valueOutOfRange && encoder.refusal?.field == "queue_time")
        #expect(encoder.place(labels, good, errorClass: String(repeating: "x", count: 300)) == nil)
        #expect(encoder.refusal?.field == "error_class")
        #expect(encoder.byteCount == bytes && encoder.frameCount == 1)

        var placed = 1
        while encoder.place(labels, good, errorClass: "oom") == true { placed += 1 }
        #expect(placed > 1 && encoder.frameCount == placed, "filled until full, then false")
        let full = encoder.byteCount
        #expect(encoder.place(labels, good, errorClass: nil) == false)
        #expect(encoder.byteCount == full)

        // What was placed decodes as the frames appended.
        let view = try BatchDecoder().decode(encoder.finish(sequence: 0))
        #expect(view.frameCount == placed)
        #expect(view.string(view.frames.first { $0.errorClass != WireLimits.noString }!.errorClass) == "oom")
    }
}
