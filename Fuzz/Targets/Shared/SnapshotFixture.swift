import TallyCore
import TallySketches
import TallyWire

/// Small valid snapshots built in code: the `snapshot` target's seeds and the
/// windows the `policy` target evaluates.
enum SnapshotFixture {
    /// One series whose every field is set: `values` requests spread over the digests
    /// and HyperLogLogs, errors, outcomes, categories.
    static func series(_ model: String, values: Int, sketches: SketchParameters, tags: [CohortTag],
                       ring: DeploymentRing = .canary, latencyShift: Double = 0) -> SnapshotSeries {
        var a = SeriesAggregate(sketches: sketches)
        for i in 0..<values {
            let v = Double(i % 97) * 1.5 + 1 + latencyShift
            for d in [\SeriesAggregate.queueTime, \.timeToFirstToken, \.totalLatency, \.timePerOutputToken,
                      \.inputTokens, \.outputTokens, \.cost] {
                a[keyPath: d].insert(v)
            }
            a.users.insert(HyperLogLog.mix(UInt64(i)))
            a.sessions.insert(HyperLogLog.mix(UInt64(i / 3)))
        }
        a.requests = UInt64(values)
        a.statusCounts[0] = UInt64(values - values / 10)
        a.statusCounts[1] = UInt64(values / 10)
        a.refusals = 1; a.escalations = 2; a.fallbacks = 3; a.feedbackUp = 4; a.feedbackDown = 5
        a.unpriced = 6; a.cachedInputTokens = 700
        a.categories = [3: UInt64(values / 2), 17: 2]
        a.otherCategories = 1
        return SnapshotSeries(labels: SeriesLabels(model: model, modelVersion: "v2", promptVersion: "p1", route: "chat",
                                                   ring: ring, tags: tags),
                              aggregate: a, errorClasses: values >= 10 ? ["oom": UInt64(values / 10)] : [:])
    }

    static let windowStart: UInt64 = 1_763_700_000_000_000

    /// Window `index` (10 s each) of a small fleet: a stable and a canary ring of two
    /// tenants; later windows are slower, so drift, canary and alerts have work.
    static func window(_ index: Int, requests: Int = 300) -> Snapshot {
        var sketches = SketchParameters()
        sketches.compression = 50
        sketches.hllPrecision = 8
        let start = windowStart + UInt64(index) * 10_000_000
        let shift = Double(index) * 20
        let series = [
            Self.series("llama", values: requests, sketches: sketches, tags: [CohortTag("tenant", "acme"), CohortTag("language", "en")],
                        ring: .stable),
            Self.series("llama", values: requests / 3, sketches: sketches,
                        tags: [CohortTag("tenant", "globex"), CohortTag("language", "de")], ring: .canary, latencyShift: shift),
            Self.series("mistral", values: requests / 2, sketches: sketches, tags: [CohortTag("tenant", "acme")], ring: .stable),
        ]
        return Snapshot(collectorID: "fuzz", windowStartMicros: start, windowEndMicros: start + 10_000_000,
                        sequence: UInt64(index + 1), sketches: sketches, series: series,
                        counters: ["frames.accepted": UInt64(requests * 2)])
    }
}
