import TallyWire

/// Fuzz target `batch`: wire-format batches (FORMAT.md) as a collector receives them.
///
/// Every input goes through ``BatchDecoder/decode(_:)``. A batch it accepts must be
/// readable in full (every field and string of every frame, which traps on a bad
/// reference) and must survive a round trip: re-encoded with ``BatchEncoder`` and
/// decoded again, it must give the same frames. Rejection is the expected outcome for
/// most inputs; a trap, an ASan report or a round-trip mismatch is a finding.
/// libFuzzer calls the target from one thread only.
nonisolated(unsafe) let decoder = BatchDecoder()
nonisolated(unsafe) let redecoder = BatchDecoder()
nonisolated(unsafe) let encoder = BatchEncoder(capacity: WireLimits.maxBatchBytes)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let view = try? decoder.decode(bytes) else { return 0 }
    var frames: [TraceFrame] = []
    frames.reserveCapacity(view.frameCount)
    for frame in view.frames { frames.append(view.traceFrame(frame)) }
    fuzzCheck(frames.count == view.frameCount, "the view yields frame_count frames")

    encoder.reset()
    for frame in frames {
        do {
            let appended = try encoder.append(frame)
            fuzzCheck(appended, "a frame of a valid batch fits an empty 1 MiB batch")
        } catch {
            fuzzFailure("the encoder refuses a frame the decoder accepted: \(error) \(frame)")
        }
    }
    let again: BatchView
    do { again = try redecoder.decode(encoder.finish(sequence: view.sequence)) } catch {
        fuzzFailure("a re-encoded batch does not decode: \(error)")
    }
    fuzzCheck(again.frameCount == frames.count, "frame count changed in the round trip")
    for (index, frame) in again.frames.enumerated() {
        fuzzCheck(again.traceFrame(frame) == frames[index], "frame \(index) changed in the round trip")
    }
    return 0
}

/// Valid batches from the encoder: empty, minimal, and frames that use every field.
func fuzzSeeds() -> [[UInt8]] {
    let full = TraceFrame(
        eventTimeMicros: 1_763_700_000_123_456, model: "llama-3.1-70b-instruct", modelVersion: "2024-07",
        promptVersion: "p7", route: "chat", ring: .canary,
        tags: [CohortTag("tenant", "acme"), CohortTag("region", "eu-west"), CohortTag("tier", "pro")],
        queueTimeMicros: 1_200, timeToFirstTokenMicros: 80_000, totalLatencyMicros: 950_000,
        inputTokens: 1_000, outputTokens: 250, cachedInputTokens: 400, cacheCreationInputTokens: 300, reasoningOutputTokens: 100,
        status: .error, errorClass: "oom",
        outcome: OutcomeBits(refusal: true, fallback: true, task: .failure, feedback: .down),
        safetyKinds: [.hate, .privacy], safetySeverity: .high, userHash: 0x1234_5678_9ABC_DEF0,
        sessionHash: 42, categoryID: 17)
    let minimal = TraceFrame(eventTimeMicros: 1, model: "m", totalLatencyMicros: 0)
    let eightTags = TraceFrame(eventTimeMicros: 2, model: "mistral-large", ring: .shadow,
                               tags: (0..<8).map { CohortTag("k\($0)", "v\($0 % 3)") }, totalLatencyMicros: 5,
                               status: .timeout)
    let batches: [[TraceFrame]] = [[], [minimal], [full], [full, minimal, eightTags, full], [eightTags, eightTags]]
    let seedEncoder = BatchEncoder(capacity: 65_536, producerID: 7)
    return batches.enumerated().map { (sequence, frames) in
        seedEncoder.reset()
        for frame in frames { _ = try! seedEncoder.append(frame) }
        return Array(seedEncoder.finish(sequence: UInt64(sequence)))
    }
}
