import Testing
import TallyCore
import TallySketches
import TallyWire
@testable import TallyHTTP

@Suite struct WebStoreTests {
    /// A window with one series per model, each with `requests` requests of 100 ms (one an error).
    func snapshot(start: UInt64, models: [String], requests: Int = 10, tags: [CohortTag] = []) -> Snapshot {
        let series = models.map { model -> SnapshotSeries in
            var aggregate = SeriesAggregate()
            for i in 0..<requests {
                aggregate.add(FrameValues(userHash: UInt64(i), sessionHash: 1, cost: 0.01, queueTimeMicros: 1_000,
                                          timeToFirstTokenMicros: 20_000, totalLatencyMicros: 100_000, inputTokens: 50,
                                          outputTokens: 20, cachedInputTokens: 0, errorClass: 0, categoryID: 0, safetyKinds: [],
                                          status: i == 0 ? .error : .ok, outcome: OutcomeBits(), safetySeverity: SafetySeverity.none))
            }
            return SnapshotSeries(labels: SeriesLabels(model: model, modelVersion: "v1", tags: tags), aggregate: aggregate,
                                  errorClasses: [:])
        }
        return Snapshot(collectorID: "t", windowStartMicros: start, windowEndMicros: start + 1_000_000, sequence: start,
                        sketches: SketchParameters(), series: series, counters: [:])
    }

    @Test func countersAccumulateAcrossWindowsAndFoldPastTheLimit() {
        let store = WebStore(capacity: 2, maxLabelSets: 2)
        store.record(snapshot: snapshot(start: 0, models: ["a", "b"]), documents: [])
        store.record(snapshot: snapshot(start: 1_000_000, models: ["a", "b", "c", "d"]), documents: [])
        let view = store.view
        let a = WebStore.LabelSet(values: ["a", "v1", "stable"])
        let other = WebStore.LabelSet(values: ["other", "other", "stable"])
        #expect(view.totals[a]?.requests == 20)
        #expect(view.totals[a]?.statuses[Int(RequestStatus.error.rawValue)] == 2)
        #expect(view.totals[other]?.requests == 20)
        #expect(view.foldedLabelSets == 2)
        #expect(view.totals.count == 3)
        let text = ExpositionFormat.prometheus.render(FleetMetrics.families(view, labels: .standard, maxLabelSets: 2))
        #expect(text.contains("tally_requests_total{model=\"other\",model_version=\"other\",ring=\"stable\"} 20"))
        #expect(text.contains("tally_metrics_label_sets_folded_total 2"))
        #expect(text.contains("tally_request_errors_total{model=\"a\",model_version=\"v1\",ring=\"stable\",status=\"error\"} 2"))
        // Histograms are cumulative like the counters: 2 windows × 10 requests of 100 ms.
        #expect(text.contains("tally_request_latency_seconds_bucket{model=\"a\",model_version=\"v1\",ring=\"stable\",le=\"0.05\"} 0"))
        #expect(text.contains("tally_request_latency_seconds_bucket{model=\"a\",model_version=\"v1\",ring=\"stable\",le=\"0.1\"} 20"))
        #expect(text.contains("tally_request_latency_seconds_bucket{model=\"a\",model_version=\"v1\",ring=\"stable\",le=\"0.25\"} 20"))
        #expect(text.contains("tally_request_latency_seconds_sum{model=\"a\",model_version=\"v1\",ring=\"stable\"} 2"))
        #expect(text.contains("tally_request_latency_seconds_count{model=\"other\",model_version=\"other\",ring=\"stable\"} 20"))
    }

    @Test func theExposedLabelsAreConfigurable() throws {
        let labels = try MetricLabels(["model", "tag:lang"])
        let store = WebStore(labels: labels)
        store.record(snapshot: snapshot(start: 0, models: ["a"], tags: [CohortTag("lang", "de")]), documents: [])
        store.record(snapshot: snapshot(start: 1_000_000, models: ["a"], tags: [CohortTag("lang", "en")]), documents: [])
        store.record(snapshot: snapshot(start: 2_000_000, models: ["a"]), documents: [])
        let text = ExpositionFormat.prometheus.render(FleetMetrics.families(store.view, labels: labels, maxLabelSets: 10))
        #expect(text.contains("tally_requests_total{model=\"a\",lang=\"de\"} 10"))
        #expect(text.contains("tally_requests_total{model=\"a\",lang=\"en\"} 10"))
        #expect(text.contains("tally_requests_total{model=\"a\",lang=\"\"} 10"))
        #expect(!text.contains("model_version="))
        for bad in [[], ["model", "model"], ["colour"], ["tag:2x"], ["tag:le"], ["tag:__x"]] {
            #expect(throws: MetricLabelsError.self, "\(bad)") { try MetricLabels(bad) }
        }
    }

    /// The one-sweep ranks equal the digest's own cdf at every point, for exact digests
    /// (a few values, with ties) and compressed ones.
    @Test func histogramRanksAgreeWithTheDigestsCDF() {
        var small = TDigest(compression: 100)
        for v in [5.0, 5, 5, 7, 9, 9, 12, 40] { small.insert(v) }
        var large = TDigest(compression: 100)
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            large.insert(Double(x >> 40) / 1_000)   // 0 … 16,777 uniform
        }
        for digest in [small, large] {
            let points = stride(from: -1.0, through: 17_000, by: digest.max / 97).map { $0 }
            let ranks = CumulativeHistogram.ranks(digest, at: points)
            for (point, rank) in zip(points, ranks) {
                let expected = digest.cdf(point) * Double(digest.count)
                #expect(abs(rank - expected) <= 1e-6 * Double(digest.count), "at \(point): \(rank) vs cdf \(expected)")
            }
        }
        // Values on a bound count in its bucket (le): 5, 5, 5 ≤ 5.
        var histogram = CumulativeHistogram(bounds: [4, 5, 9, 100])
        histogram.add(small, unitsPer: 1)
        #expect(histogram.cumulative == [0, 3, 6, 8])
        #expect(histogram.count == 8 && histogram.sum == 92)
    }

    @Test func vLLMFamiliesUseVLLMsBucketsAndModelName() throws {
        let store = WebStore(vllmMaxModelLength: 1_000)
        store.record(snapshot: snapshot(start: 0, models: ["a", "b"]), documents: [])
        store.record(snapshot: snapshot(start: 1_000_000, models: ["a"]), documents: [])
        let face = WebFace(store: store, started: 1_700_000_000)
        let reply = face.respond(WebRequest(path: "/metrics/vllm"))
        #expect(reply.status == 200)
        let text = reply.body
        // 2 windows × 9 ok requests of model a: 100 ms e2e, 20 ms TTFT, 1 ms queue, 50 prompt and 20 generation tokens.
        for needle in ["vllm:request_success_total{model_name=\"a\",finished_reason=\"stop\"} 18",
                       "vllm:request_success_total{model_name=\"b\",finished_reason=\"stop\"} 9",
                       "vllm:e2e_request_latency_seconds_bucket{model_name=\"a\",le=\"0.3\"} 20",
                       "vllm:time_to_first_token_seconds_bucket{model_name=\"a\",le=\"0.01\"} 0",
                       "vllm:time_to_first_token_seconds_bucket{model_name=\"a\",le=\"0.02\"} 20",
                       "vllm:request_queue_time_seconds_count{model_name=\"a\"} 20",
                       "vllm:request_prompt_tokens_bucket{model_name=\"a\",le=\"20.0\"} 0",
                       "vllm:request_prompt_tokens_bucket{model_name=\"a\",le=\"50.0\"} 20",
                       "vllm:request_generation_tokens_bucket{model_name=\"a\",le=\"20.0\"} 20",
                       "vllm:request_generation_tokens_bucket{model_name=\"a\",le=\"1000.0\"} 20",
                       "vllm:request_generation_tokens_sum{model_name=\"a\"} 400",
                       "# TYPE vllm:e2e_request_latency_seconds histogram"] {
            #expect(text.contains(needle), "missing \(needle)")
        }
        #expect(!text.contains("le=\"2000.0\""), "token buckets stop at max_model_len")
        #expect(VLLMMetrics.tokenBuckets(maximum: 1_000) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000])
        let open = face.respond(WebRequest(path: "/metrics/vllm", accept: "application/openmetrics-text"))
        #expect(open.body.contains("vllm:request_success_created{model_name=\"a\",finished_reason=\"stop\"} 1700000000\n"))
        #expect(open.body.contains("vllm:e2e_request_latency_seconds_created{model_name=\"a\"} 1700000000\n"))
        #expect(WebFace(store: WebStore()).respond(WebRequest(path: "/metrics/vllm")).status == 404)
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
