import Benchmark
import BenchmarkFixtures
import TallyCore
import TallyIndex

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .peakMemoryResident]
    let configuration = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(10), maxIterations: 50)

    for (series, frames) in [(1_000, 20_000), (10_000, 100_000)] {
        let snapshot = benchmarkSnapshot(series: series, frames: frames)
        // One iteration = one window through the default policy: roll-up into every scope,
        // KPIs and lights, drift, fairness, canary, burn rates, alerts, and the three
        // rolling spans (5m, 1h, 24h) updated and evaluated. The engine is warmed past
        // the drift baseline (30 windows) first, so drift is computed too.
        Benchmark("index: evaluate a window, \(series) series, default policy", configuration: configuration) { benchmark in
            let engine = IndexEngine(policy: .standard, collectorID: "bench")
            for i in 0..<31 { blackHole(try! engine.evaluate(shifted(snapshot, to: i))) }
            var next = 31
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try! engine.evaluate(shifted(snapshot, to: next)))
                next += 1
            }
        }
        // The roll-up alone: every series merged into the default policy's scopes.
        Benchmark("index: roll-up only, \(series) series", configuration: configuration) { benchmark in
            let policy = Policy.standard
            for _ in benchmark.scaledIterations {
                blackHole(try! ScopeRollup.scopes(of: snapshot, kinds: policy.scopeKinds, cohortKeys: policy.cohortKeys))
            }
        }
    }
}
