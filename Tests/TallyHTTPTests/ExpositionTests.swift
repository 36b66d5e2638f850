import Testing
import TallyCore
import TallySketches
@testable import TallyHTTP

@Suite struct ExpositionTests {
    func sampleFamilies() -> [MetricFamily] {
        var counter = MetricFamily(name: "tally_requests", type: .counter, help: "Requests.")
        counter.add([("model", "a\"b\\c\nd")], 3)
        var gauge = MetricFamily(name: "tally_flush_duration_seconds", type: .gauge, help: "Flush.", unit: "seconds")
        gauge.add([], 0.25)
        return [counter, gauge]
    }

    @Test func prometheusNamesCountersWithTotalInHelpAndType() {
        let text = ExpositionFormat.prometheus.render(sampleFamilies())
        #expect(text == """
            # HELP tally_requests_total Requests.
            # TYPE tally_requests_total counter
            tally_requests_total{model="a\\"b\\\\c\\nd"} 3
            # HELP tally_flush_duration_seconds Flush.
            # TYPE tally_flush_duration_seconds gauge
            tally_flush_duration_seconds 0.25

            """)
    }

    @Test func openMetricsNamesCounterFamiliesWithoutTotalAndEndsWithEOF() {
        let text = ExpositionFormat.openMetrics.render(sampleFamilies())
        #expect(text == """
            # HELP tally_requests Requests.
            # TYPE tally_requests counter
            tally_requests_total{model="a\\"b\\\\c\\nd"} 3
            # HELP tally_flush_duration_seconds Flush.
            # TYPE tally_flush_duration_seconds gauge
            # UNIT tally_flush_duration_seconds seconds
            tally_flush_duration_seconds 0.25
            # EOF

            """)
    }

    @Test func openMetricsGivesCountersAndHistogramsACreatedSample() {
        var histogram = MetricFamily(name: "tally_request_latency_seconds", type: .histogram, help: "Latency.", unit: "seconds")
        var cumulative = CumulativeHistogram(bounds: [0.1])
        var digest = TDigest()
        digest.insert(integer: 50_000)
        cumulative.add(digest, unitsPer: 1e6)
        histogram.addHistogram([("model", "m")], cumulative)
        let families = sampleFamilies() + [histogram]
        let text = ExpositionFormat.openMetrics.render(families, created: 1_700_000_000.5)
        #expect(text.contains("tally_requests_total{model=\"a\\\"b\\\\c\\nd\"} 3\ntally_requests_created{model=\"a\\\"b\\\\c\\nd\"} 1700000000.5\n"))
        #expect(text.contains("""
            tally_request_latency_seconds_bucket{model="m",le="0.1"} 1
            tally_request_latency_seconds_bucket{model="m",le="+Inf"} 1
            tally_request_latency_seconds_sum{model="m"} 0.05
            tally_request_latency_seconds_count{model="m"} 1
            tally_request_latency_seconds_created{model="m"} 1700000000.5

            """))
        #expect(!text.contains("tally_flush_duration_seconds_created"), "gauges have no _created")
        #expect(!ExpositionFormat.prometheus.render(families, created: 1).contains("_created"))
    }

    @Test func acceptHeaderChoosesTheFormat() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .prometheus)
        #expect(ExpositionFormat.negotiate(accept: "text/plain;version=0.0.4") == .prometheus)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5") == .openMetrics)
    }

    @Test func everyCollectorCounterNameMapsThroughTheTable() {
        let names = ["frames.accepted", "frames.aggregated", "frames.folded", "dropped.late", "shard.0.frames",
                     "windows.sealed_tables", "ingest.batches", "ingest.bytes", "ingest.frames", "ingest.rejected.truncated",
                     "sink.file.delivered", "sink.file.failures", "sink.file.retries", "sink.file.queue_depth",
                     "sink.file.dropped.queue_full", "flush.micros", "snapshot.bytes", "snapshots", "index.windows",
                     "index.refused", "replay.snapshots_served", "producer.00000000000000ff.frames",
                     "producer.other.ingest_dropped", "producer.other.batches", "ingest.dropped.shutdown_frames", "ingest.dropped.shutdown_batches",
                     "ingest.connections.accepted", "ingest.connections.open", "ingest.refused.connection_limit",
                     "ingest.max_connections", "ingest.receive_queue_batches", "symbols.interned", "symbols.overflowed",
                     "producer.other.folded", "producer.00000000000000ff.folded", "producer.00000000000000ff.late",
                     "producer.other.future", "producer.00000000000000ff.memory_bytes", "producer.other.memory_bytes"]
        for name in names { #expect(DaemonMetrics.match(name) != nil, "\(name)") }
        // Every counter the engine names, whatever is added to it.
        var engine = EngineCounters()
        engine.aggregatedPerShard = [0, 0]
        for name in engine.named.keys { #expect(DaemonMetrics.match(name) != nil, "\(name)") }
        let (families, unmapped) = DaemonMetrics.families(["sink.pub.dropped.failed": 2, "flush.micros": 1_500, "mystery": 1])
        #expect(unmapped == ["mystery"])
        let dropped = families.first { $0.name == "tally_sink_dropped" }
        #expect(dropped?.samples.first?.labels.map { "\($0.0)=\($0.1)" } == ["sink=pub", "reason=failed"])
        #expect(families.first { $0.name == "tally_flush_duration_seconds" }?.samples.first?.value == 0.0015)
        #expect(Set(DaemonMetrics.table.map(\.pattern)).count == DaemonMetrics.table.count)
    }

    @Test func queryStringsDecode() {
        #expect(WebRequest.parseQuery("id=model%3Dalpha&x=a+b&flag") == ["id": "model=alpha", "x": "a b", "flag": ""])
    }
}
