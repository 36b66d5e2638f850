import Benchmark
#if canImport(Glibc)
import Glibc
#endif
import TallyCore
import TallySynthetic
import TallyWire

/// Event time of every benchmark frame; the engine's clock is pinned to it, so no
/// frame is late or from the future and no window seals mid-measurement.
let eventTime: UInt64 = 1_763_700_000_000_000

/// A fleet of about 1,000 series (fewer dimension values than the default fleet).
func benchmarkFleet() -> SyntheticFleet {
    var fleet = SyntheticFleet(tenants: 10, users: 20_000)
    fleet.promptVersions = ["p-2024.11", "p-2024.12"]
    fleet.routes = ["chat", "code"]
    fleet.regions = ["us-east", "eu-central"]
    fleet.languages = ["en"]
    fleet.tiers = ["pro"]
    return fleet
}

/// 10^5 frames with every field set, encoded as full 64 KiB batches.
let batches: [[UInt8]] = {
    var rng = SplitMix64(seed: 2026)
    let fleet = benchmarkFleet()
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    var result: [[UInt8]] = []
    var frames = 0
    while frames < 100_000 {
        encoder.reset()
        while frames < 100_000, try! encoder.append(fleet.frame(eventTimeMicros: eventTime, &rng)) { frames += 1 }
        result.append(Array(encoder.finish(sequence: UInt64(result.count))))
    }
    return result
}()
let framesPerIteration = 100_000

/// The same frames resolved to records, for the single-thread fold.
let records: [FrameRecord] = {
    let resolver = BatchResolver(symbols: SymbolTable(), prices: PriceTable())
    let decoder = BatchDecoder()
    var result: [FrameRecord] = []
    for bytes in batches {
        bytes.withUnsafeBytes { raw in
            let view = try! decoder.decode(raw)
            resolver.begin(view)
            for frame in view.frameReferences { result.append(resolver.record(frame)) }
        }
    }
    return result
}()

/// Ingests every batch through one port and waits until the shards folded them all.
func ingestAll(_ engine: AggregationEngine, port: IngestPort, decoder: BatchDecoder, until target: UInt64) {
    for bytes in batches { bytes.withUnsafeBytes { port.ingest(try! decoder.decode($0)) } }
    while engine.counters.aggregated < target { sched_yield() }
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident]
    let configuration = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(5), maxIterations: 1_000)

    // One iteration = 10^5 pre-resolved records folded into one window table on this
    // thread: the shard's per-frame work without the ring.
    Benchmark("fold 10^5 records, 1 thread", configuration: configuration) { benchmark in
        let table = WindowTable(startMicros: 0, maxSeries: 1_000_000, sketches: SketchParameters())
        for r in records { table.add(r) }  // warm: every series and sketch grown
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for r in records { table.add(r) }
        }
        benchmark.stopMeasurement()
        blackHole(table.frames)
    }

    // One iteration = 10^5 frames decoded, resolved and routed by one ingest thread
    // into the engine's rings, and folded by N shard threads.
    for shards in [1, 2] {
        Benchmark("engine 10^5 frames, \(shards) shard\(shards == 1 ? "" : "s")", configuration: configuration) { benchmark in
            var engineConfiguration = EngineConfiguration()
            engineConfiguration.shards = shards
            engineConfiguration.backPressure = .wait(maxMicros: 1_000_000)
            let engine = AggregationEngine(configuration: engineConfiguration, clock: { eventTime })
            let port = engine.makeIngestPort()
            let decoder = BatchDecoder()
            engine.start()
            var target = UInt64(framesPerIteration)
            ingestAll(engine, port: port, decoder: decoder, until: target)  // warm
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                target += UInt64(framesPerIteration)
                ingestAll(engine, port: port, decoder: decoder, until: target)
            }
            benchmark.stopMeasurement()
            _ = engine.stop()
            blackHole(engine.counters.totalDropped)
        }
    }
}
