import Foundation
import TallyCore
import TallyIndex
import TallySynthetic
import TallyWire

// Shared by the index's and the daemon's tests (a target of its own so that neither
// copies the other's fixtures).

/// What a test's synthetic series looks like: request count, latency median and the
/// share of failures, refusals and so on (seeded, so every run is the same).
public struct SeriesShape {
    public var model = "m"
    public var version = "v1"
    public var ring = DeploymentRing.stable
    public var tags: [CohortTag] = []
    public var requests = 1_000
    /// Median total latency in µs (lognormal, σ 0.5).
    public var medianLatency = 500_000.0
    public var errorRate = 0.005
    public var refusalRate = 0.01
    public var successRate = 0.9
    public var criticalRate = 0.0
    /// Categories 0 ..< `categories`, uniform; `categoryOffset` shifts them (drift).
    public var categories = 8
    public var categoryOffset = 0

    public init(model: String = "m", version: String = "v1", ring: DeploymentRing = .stable, tags: [CohortTag] = [],
                requests: Int = 1_000, medianLatency: Double = 500_000, errorRate: Double = 0.005) {
        self.model = model
        self.version = version
        self.ring = ring
        self.tags = tags
        self.requests = requests
        self.medianLatency = medianLatency
        self.errorRate = errorRate
    }

    /// The series' aggregate, drawn with `seed`.
    public func aggregate(seed: UInt64) -> SeriesAggregate {
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

    public var labels: SeriesLabels {
        SeriesLabels(model: model, modelVersion: version, promptVersion: "p1", route: "chat", ring: ring, tags: tags)
    }
}

/// A snapshot of window `index` (1-second windows) holding one series per shape.
public func snapshot(window index: Int, _ shapes: [SeriesShape], seed: UInt64 = 1) -> Snapshot {
    let series = shapes.enumerated().map { i, shape in
        SnapshotSeries(labels: shape.labels, aggregate: shape.aggregate(seed: seed &* 1_000_003 &+ UInt64(index * 100 + i)),
                       errorClasses: [:])
    }
    let start = UInt64(1_800_000_000 + index) * 1_000_000
    return Snapshot(collectorID: "test", windowStartMicros: start, windowEndMicros: start + 1_000_000,
                    sequence: UInt64(index), sketches: SketchParameters(), series: series, counters: [:])
}

/// The text of ``testPolicy(_:)``'s file: the default thresholds, a 10-second span, the
/// `lang` cohort, a 5-window drift baseline, no SLO.
public let testPolicyText = """
    [index]
    spans = ["10s"]
    cohort_keys = ["lang"]
    [drift]
    baseline_windows = 5
    min_requests = 500
    [slos.availability]
    enabled = false
    """

/// A policy for 1-second test windows (``testPolicyText``, then `extra`).
public func testPolicy(_ extra: String = "") throws -> Policy {
    try Policy(file: testPolicyText + "\n" + extra)
}
