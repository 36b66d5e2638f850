import Benchmark
import TallySynthetic
import TallyWire

/// A typical producer batch: synthetic fleet frames (model, version, prompt version,
/// route, ring and error class, plus 4 cohort tags each), encoded into 64 KiB.
struct TypicalBatch {
    let frames: [TraceFrame]
    let bytes: [UInt8]
    let frameCount: Int

    init() {
        var rng = SplitMix64(seed: 2026)
        let fleet = SyntheticFleet()
        var frames: [TraceFrame] = []
        let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
        while true {
            let frame = fleet.frame(eventTimeMicros: 1_763_700_000_000_000 + UInt64(frames.count), &rng)
            guard try! encoder.append(frame) else { break }
            frames.append(frame)
        }
        self.frames = frames
        frameCount = frames.count
        bytes = Array(encoder.finish(sequence: 0))
    }
}

let benchmarks: @Sendable () -> Void = {
    let batch = TypicalBatch()
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident]
    let configuration = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(5), maxIterations: 100_000)

    // The harness's own cost per iteration (mallocs, time), to subtract from the others.
    Benchmark("baseline: empty iteration", configuration: configuration) { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(batch.frameCount) }
        benchmark.stopMeasurement()
    }

    // One iteration decodes and validates a whole 64 KiB batch and reads every frame.
    Benchmark("decode 64 KiB batch (\(batch.frameCount) frames)", configuration: configuration) { benchmark in
        let decoder = BatchDecoder()
        try batch.bytes.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let view = try decoder.decode(bytes)
                var sum: UInt64 = 0
                for frame in view.frames {
                    sum &+= UInt64(frame.totalLatencyMicros) &+ UInt64(frame.tag(3).value)
                }
                blackHole(sum)
            }
            benchmark.stopMeasurement()
        }
    }

    // One iteration encodes the same frames into a 64 KiB batch and finishes it.
    Benchmark("encode 64 KiB batch (\(batch.frameCount) frames)", configuration: configuration) { benchmark in
        let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // Borrow the frames in place, as a producer passes its own values.
            batch.frames.withUnsafeBufferPointer { frames in
                for index in frames.indices { blackHole(try! encoder.append(frames[index])) }
            }
            blackHole(encoder.finish(sequence: 1).count)
            encoder.reset()
        }
        benchmark.stopMeasurement()
    }
}
