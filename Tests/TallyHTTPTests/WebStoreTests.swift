import Testing
import TallyCore
import TallyWire
@testable import TallyHTTP

@Suite struct WebStoreTests {
    /// A window with one series per model, each with `requests` requests of 100 ms (one an error).
    func snapshot(start: UInt64, models: [String], requests: Int = 10) -> Snapshot {
        let series = models.map { model -> SnapshotSeries in
            var aggregate = SeriesAggregate()
            for i in 0..<requests {
                aggregate.add(FrameValues(userHash: UInt64(i), sessionHash: 1, cost: 0.01, queueTimeMicros: 1_000,
                                          timeToFirstTokenMicros: 20_000, totalLatencyMicros: 100_000, inputTokens: 50,
                                          outputTokens: 20, cachedInputTokens: 0, errorClass: 0, categoryID: 0, safetyKinds: [],
                                          status: i == 0 ? .error : .ok, outcome: OutcomeBits(), safetySeverity: SafetySeverity.none))
            }
            return SnapshotSeries(labels: SeriesLabels(model: model, modelVersion: "v1"), aggregate: aggregate, errorClasses: [:])
        }
        return Snapshot(collectorID: "t", windowStartMicros: start, windowEndMicros: start + 1_000_000, sequence: start,
                        sketches: SketchParameters(), series: series, counters: [:])
    }

    @Test func countersAccumulateAcrossWindowsAndFoldPastTheLimit() {
        let store = WebStore(capacity: 2, maxLabelSets: 2)
        store.record(snapshot: snapshot(start: 0, models: ["a", "b"]), documents: [])
        store.record(snapshot: snapshot(start: 1_000_000, models: ["a", "b", "c", "d"]), documents: [])
        let view = store.view
        let a = WebStore.LabelSet(model: "a", version: "v1", ring: "stable")
        let other = WebStore.LabelSet(model: "other", version: "other", ring: "stable")
        #expect(view.totals[a]?.requests == 20)
        #expect(view.totals[a]?.statuses[Int(RequestStatus.error.rawValue)] == 2)
        #expect(view.totals[other]?.requests == 20)
        #expect(view.foldedLabelSets == 2)
        #expect(view.totals.count == 3)
        let text = ExpositionFormat.prometheus.render(FleetMetrics.families(view, maxLabelSets: 2))
        #expect(text.contains("tally_requests_total{model=\"other\",model_version=\"other\",ring=\"stable\"} 20"))
        #expect(text.contains("tally_metrics_label_sets_folded_total 2"))
        #expect(text.contains("tally_request_errors_total{model=\"a\",model_version=\"v1\",ring=\"stable\",status=\"error\"} 2"))
        // The last window's histogram: every request took 100 ms.
        #expect(text.contains("tally_request_latency_seconds_bucket{model=\"a\",model_version=\"v1\",ring=\"stable\",le=\"0.05\"} 0"))
        #expect(text.contains("tally_request_latency_seconds_bucket{model=\"a\",model_version=\"v1\",ring=\"stable\",le=\"0.25\"} 10"))
        #expect(text.contains("tally_request_latency_seconds_count{model=\"other\",model_version=\"other\",ring=\"stable\"} 20"))
    }

    @Test func readinessWaitsForTheFirstWindow() {
        let store = WebStore()
        let face = WebFace(store: store)
        #expect(face.respond(WebRequest(path: "/readyz")).status == 503)
        #expect(face.respond(WebRequest(path: "/api/v1/index")).status == 503)
        store.record(snapshot: snapshot(start: 0, models: ["a"]), documents: [])
        #expect(face.respond(WebRequest(path: "/readyz")).status == 200)
    }

    @Test func theTokenGuardsEverythingButHealthz() {
        let face = WebFace(store: WebStore(), token: "s3cret")
        #expect(face.respond(WebRequest(path: "/healthz")).status == 200)
        #expect(face.respond(WebRequest(path: "/metrics")).status == 401)
        #expect(face.respond(WebRequest(path: "/metrics", authorization: "Bearer s3cre")).status == 401)
        #expect(face.respond(WebRequest(path: "/metrics", authorization: "Bearer s3cret")).status == 200)
    }
}
