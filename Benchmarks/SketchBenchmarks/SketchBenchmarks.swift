import Benchmark
import TallySketches
import TallySynthetic

/// 10^6 lognormal values (latency-like), generated once.
let latencies: [Double] = {
    var rng = SplitMix64(seed: 42)
    return (0..<1_000_000).map { _ in Distribution.lognormal(mu: 0, sigma: 1).sample(&rng) }
}()

/// 10^6 random 64-bit hashes (user ids).
let hashes: [UInt64] = {
    var rng = SplitMix64(seed: 43)
    return (0..<1_000_000).map { _ in rng.next() }
}()

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident]
    let configuration = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(5), maxIterations: 10_000)

    Benchmark("baseline: empty iteration", configuration: configuration) { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(latencies.count) }
        benchmark.stopMeasurement()
    }

    // One iteration = 10^6 inserts, one value per call, into a digest already warm
    // (its buffers grown), as a long-lived series' digest is.
    Benchmark("t-digest insert ×10^6", configuration: configuration) { benchmark in
        var digest = TDigest()
        for x in latencies { digest.insert(x) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for x in latencies { digest.insert(x) }
        }
        benchmark.stopMeasurement()
        blackHole(digest.quantile(0.99))
    }

    let parts: [TDigest] = (0..<100).map { part in
        var d = TDigest()
        for x in latencies[(part * 10_000)..<((part + 1) * 10_000)] { d.insert(x) }
        d.compress()
        return d
    }
    Benchmark("t-digest merge 100 digests of 10^4", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try TDigest.merged(parts).count) }
    }

    var full = TDigest()
    for x in latencies { full.insert(x) }
    full.compress()
    let fullBytes = full.serialized()
    Benchmark("t-digest serialize (10^6 values, \(fullBytes.count) B)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(full.serialized()) }
    }
    Benchmark("t-digest deserialize (\(fullBytes.count) B)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try TDigest(serialized: fullBytes).count) }
    }

    // One iteration = 10^6 inserts into a dense sketch (the steady state of a busy cohort).
    Benchmark("HyperLogLog insert ×10^6", configuration: configuration) { benchmark in
        var sketch = HyperLogLog()
        for h in hashes { sketch.insert(h) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for h in hashes { sketch.insert(h &+ 1) }
        }
        benchmark.stopMeasurement()
        blackHole(sketch.estimate)
    }

    let sketches: [HyperLogLog] = (0..<100).map { part in
        var h = HyperLogLog()
        for v in hashes[(part * 10_000)..<((part + 1) * 10_000)] { h.insert(v) }
        return h
    }
    Benchmark("HyperLogLog union of 100 dense sketches", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try HyperLogLog.union(sketches).estimate) }
    }

    var dense = HyperLogLog()
    for h in hashes { dense.insert(h) }
    let denseBytes = dense.serialized()
    Benchmark("HyperLogLog serialize dense (\(denseBytes.count) B)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(dense.serialized()) }
    }
    Benchmark("HyperLogLog deserialize dense (\(denseBytes.count) B)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try HyperLogLog(serialized: denseBytes).estimate) }
    }
}
