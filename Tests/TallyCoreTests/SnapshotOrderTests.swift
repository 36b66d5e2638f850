import Testing
@testable import TallyCore
import TallySketches
import TallySynthetic
import TallyWire

/// A snapshot's series and cohorts are in label order whatever order they come in
/// (`Snapshot.sortedByLabels` permutes them in place along the order's cycles), and each
/// keeps its own aggregate.
@Suite struct SnapshotOrderTests {
    @Test(arguments: [0, 1, 2, 3, 17, 500])
    func seriesComeOutInLabelOrderWithTheirAggregates(count: Int) {
        var rng = SplitMix64(seed: UInt64(count) + 5)
        // Labels that tie on every field but one, in turn (model, versions, route, ring, tags),
        // and distinct requests to tell the series apart.
        let series = (0..<count).map { i -> SnapshotSeries in
            let r = rng.next()
            var aggregate = SeriesAggregate(sketches: SketchParameters())
            aggregate.requests = UInt64(i + 1)
            let labels = SeriesLabels(model: "m\(r % 3)", modelVersion: "v\((r >> 8) % 2)", promptVersion: "p\((r >> 16) % 2)",
                                      route: "r\((r >> 24) % 2)", ring: (r >> 32) % 2 == 0 ? .stable : .canary,
                                      tags: [CohortTag("lang", "l\(i)")])
            return SnapshotSeries(labels: labels, aggregate: aggregate, errorClasses: [:])
        }
        let snapshot = Snapshot(collectorID: "c", windowStartMicros: 0, windowEndMicros: 1, sequence: 0,
                                sketches: SketchParameters(), series: series, counters: [:], cohorts: series.reversed())
        let expected = series.sorted { $0.labels < $1.labels }
        #expect(snapshot.series.map(\.labels) == expected.map(\.labels))
        #expect(snapshot.series.map(\.aggregate.requests) == expected.map(\.aggregate.requests))
        #expect(snapshot.cohorts.map(\.labels) == expected.map(\.labels))
        #expect(snapshot.cohorts.map(\.aggregate.requests) == expected.map(\.aggregate.requests))
    }

    @Test func labelOrderIsFieldByField() {
        let a = SeriesLabels(model: "a", modelVersion: "z"), b = SeriesLabels(model: "b", modelVersion: "a")
        #expect(a < b && !(b < a))
        let stable = SeriesLabels(model: "m", ring: .stable), canary = SeriesLabels(model: "m", ring: .canary)
        #expect((stable < canary) == (DeploymentRing.stable.rawValue < DeploymentRing.canary.rawValue))
        let de = SeriesLabels(model: "m", tags: [CohortTag("lang", "de")]), en = SeriesLabels(model: "m", tags: [CohortTag("lang", "en")])
        let none = SeriesLabels(model: "m")
        #expect(de < en && none < de && !(de < de))
    }
}
