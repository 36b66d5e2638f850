import Foundation
import TallyCore
@testable import TallyIndex
import TallySynthetic
import TallyWire

/// What a test's synthetic series looks like: request count, latency median and the
/// share of failures, refusals and so on (seeded, so every run is the same).
struct SeriesShape {
    var model = "m"
    var version = "v1"
    var ring = DeploymentRing.stable
    var tags: [CohortTag] = []
    var requests = 1_000
    /// Median total latency in µs (lognormal, σ 0.5).
    var medianLatency = 500_000.0
    var errorRate = 0.005
    var refusalRate = 0.01
    var successRate = 0.9
    var criticalRate = 0.0
    /// Categories 0 ..< `categories`, uniform; `categoryOffset` shifts them (drift).
    var categories = 8
    var categoryOffset = 0

    /// The series' aggregate, drawn with `seed`.
    func aggregate(seed: UInt64) -> SeriesAggregate {
        var rng = SplitMix64(seed: seed)
        var a = SeriesAggregate()
        let law = Distribution.lognormal(mu: log(medianLatency), sigma: 0.5)
        for _ in 0..<requests {
            let total = UInt32(min(law.sample(&rng), 3e9))
            let failed = rng.unit() < errorRate
            let outcome = OutcomeBits(refusal: rng.unit() < refusalRate, escalation: false, fallback: false,
                                      task: failed ? .failure : (rng.unit() < successRate ? .success : .failure),
                                      feedback: rng.unit() < 0.1 ? .up : .none)
            a.add(FrameValues(
                userHash: rng.next() % 5_000 &+ 1, sessionHash: rng.next() | 1, cost: 0.001 + 0.001 * rng.unit(),
                queueTimeMicros: total / 20, timeToFirstTokenMicros: total / 5, totalLatencyMicros: total,
                inputTokens: 500, outputTokens: 200, cachedInputTokens: 0, errorClass: SymbolTable.none,
                categoryID: UInt16(categoryOffset + Int(rng.next() % UInt64(categories))), safetyKinds: [],
                status: failed ? .error : .ok, outcome: outcome,
                safetySeverity: rng.unit() < criticalRate ? .critical : .none))
        }
        return a
    }

    var labels: SeriesLabels {
        SeriesLabels(model: model, modelVersion: version, promptVersion: "p1", route: "chat", ring: ring, tags: tags)
    }
}

/// A snapshot of window `index` (1-second windows) holding one series per shape.
func snapshot(window index: Int, _ shapes: [SeriesShape], seed: UInt64 = 1) -> Snapshot {
    let series = shapes.enumerated().map { i, shape in
        SnapshotSeries(labels: shape.labels, aggregate: shape.aggregate(seed: seed &* 1_000_003 &+ UInt64(index * 100 + i)),
                       errorClasses: [:])
    }
    let start = UInt64(1_800_000_000 + index) * 1_000_000
    return Snapshot(collectorID: "test", windowStartMicros: start, windowEndMicros: start + 1_000_000,
                    sequence: UInt64(index), sketches: SketchParameters(), series: series, counters: [:])
}

/// A policy for 1-second test windows: the default thresholds and short spans.
func testPolicy(_ extra: String = "") throws -> Policy {
    try Policy(file: """
        [index]
        spans = ["10s"]
        cohort_keys = ["lang"]
        [drift]
        baseline_windows = 5
        min_requests = 500
        [slos.availability]
        enabled = false
        \(extra)
        """)
}
