import Foundation
import Testing
import TallyClient
@testable import TallyDaemon
import TallyWire

/// A real Prometheus (Debian's `prometheus` 2.42, which Tools/setup.sh installs) scraping a
/// release tallyd every second, on loopback, while a TallyClient sends frames whose values
/// the test knows: PromQL over tallyd's `/metrics` and `/metrics/vllm` against the truth.
@Suite(.serialized) struct PrometheusTests {
    static let binary = "/usr/bin/prometheus"

    /// The frames: 2,000 a second for 12 s on one model, 1 in 10 on the canary ring, 1 in 25
    /// an error; total latency spread evenly over 20 ms … 2.02 s, TTFT a fifth of it.
    struct Fleet {
        static let rate = 2_000, seconds = 12
        static var count: Int { rate * seconds }
        static func latencyMicros(_ i: Int) -> UInt32 { UInt32(20_000 + (i &* 7_919) % 2_000_000) }
        static func frame(_ i: Int, now: UInt64) -> TraceFrame {
            let latency = latencyMicros(i)
            return TraceFrame(eventTimeMicros: now, model: "m-prom", modelVersion: "v1", ring: i % 10 == 0 ? .canary : .stable,
                              queueTimeMicros: 1_000, timeToFirstTokenMicros: latency / 5, totalLatencyMicros: latency,
                              inputTokens: 100, outputTokens: 50, status: i % 25 == 0 ? .error : .ok, userHash: UInt64(i % 500 + 1))
        }
        /// Seconds, sorted.
        static var latencies: [Double] { (0..<count).map { Double(latencyMicros($0)) / 1e6 }.sorted() }
    }

    /// Prometheus's `histogram_quantile` computed from exact bucket counts: what a perfect
    /// exporter with these bounds would give (linear interpolation inside the bucket).
    static func idealHistogramQuantile(_ q: Double, sorted values: [Double], bounds: [Double]) -> Double {
        let rank = q * Double(values.count)
        var lower = 0.0, below = 0.0
        for bound in bounds {
            let count = Double(values.prefix { $0 <= bound }.count)
            if count >= rank { return lower + (bound - lower) * (rank - below) / max(1, count - below) }
            (lower, below) = (bound, count)
        }
        return bounds.last ?? .nan
    }

    /// The bucket (lower, upper] of `bounds` that holds `value`.
    static func bucket(of value: Double, _ bounds: [Double]) -> (Double, Double) {
        var lower = 0.0
        for bound in bounds {
            if value <= bound { return (lower, bound) }
            lower = bound
        }
        return (lower, .infinity)
    }

    /// `GET /api/v1/query`: the scalar of a one-element vector result, nil otherwise.
    static func query(_ prometheus: ServerProcess, _ promQL: String, at time: Double? = nil) -> Double? {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
        var path = "/api/v1/query?query=" + (promQL.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        if let time { path += "&time=\(time)" }
        guard let response = try? prometheus.get(path), response.status == 200,
              let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]], result.count == 1,
              let value = result[0]["value"] as? [Any], value.count == 2, let text = value[1] as? String else { return nil }
        return Double(text)
    }

    @Test(.timeLimit(.minutes(15)))
    func promQLOverTallydsMetricsMatchesTheFramesTruth() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) not installed (Debian package prometheus; Tools/setup.sh installs it)")
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let dir = NSTemporaryDirectory() + "tally-prom-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let httpPort = try LoopbackListener.freePort()
        let endpoint = "ipc://" + dir + "/frames"
        _ = FileManager.default.createFile(atPath: dir + "/tallyd.log", contents: nil)
        let tallyd = Process()
        tallyd.executableURL = URL(fileURLWithPath: IndexScenarioTests.tallydPath)
        tallyd.arguments = ["--endpoint", endpoint, "--data-dir", dir + "/data", "--window", "1", "--pub", "", "--replay", "",
                            "--http", "127.0.0.1:\(httpPort)", "--collector-id", "prom-test"]
        tallyd.environment = ["TALLY_ALLOWED_LATENESS_SECONDS": "1", "TALLY_HTTP_VLLM_METRICS": "true"]
        tallyd.standardError = FileHandle(forWritingAtPath: dir + "/tallyd.log")
        tallyd.standardOutput = FileHandle.nullDevice
        try tallyd.run()
        defer { ServerProcess.stop(tallyd, within: 10) }

        let prometheus = try ServerProcess(binary: Self.binary, name: "prom", files: ["prometheus.yml": """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: tally
                static_configs:
                  - targets: ["127.0.0.1:\(httpPort)"]
              - job_name: tally-vllm
                metrics_path: /metrics/vllm
                static_configs:
                  - targets: ["127.0.0.1:\(httpPort)"]

            """]) { directory, port in
            ["--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
             "--web.listen-address=127.0.0.1:\(port)"]
        }
        defer { prometheus.stop() }
        try #require(prometheus.ready("/-/ready", within: 30), "Prometheus not ready: \(prometheus.log.suffix(2_000))")
        let up = (0..<100).contains { _ in
            if Self.query(prometheus, "sum(up)") == 2 { return true }
            Thread.sleep(forTimeInterval: 0.2)
            return false
        }
        try #require(up, "Prometheus does not see both targets up: \(prometheus.log.suffix(2_000))")

        // The frames, paced at 200 every 100 ms.
        // The client waits up to 2 s for the connection instead of dropping the first batch: a
        // CI run under load lost 200 frames as collector_unavailable before ZeroMQ connected.
        var clientConfiguration = TallyClientConfiguration(endpoints: [endpoint])
        clientConfiguration.sendWaitMillis = 2_000
        let client = try TallyClient(configuration: clientConfiguration)
        let started = Date()
        for i in 0..<Fleet.count {
            if i % (Fleet.rate / 10) == 0 {
                let due = started.addingTimeInterval(Double(i) / Double(Fleet.rate))
                let wait = due.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
            client.record(Fleet.frame(i, now: UInt64(Date().timeIntervalSince1970 * 1e6)))
        }
        let sent = client.close(timeoutMillis: 5_000)
        #expect(sent.framesDropped == 0 && sent.framesSent == UInt64(Fleet.count), "client: \(sent)")
        let mid = started.timeIntervalSince1970 + 10

        // Wait until Prometheus holds the last window (cumulative counters reach the total).
        let total = Double(Fleet.count)
        let scraped = (0..<150).contains { _ in
            if Self.query(prometheus, "sum(tally_requests_total)") == total { return true }
            Thread.sleep(forTimeInterval: 0.2)
            return false
        }
        try #require(scraped, "sum(tally_requests_total) = \(Self.query(prometheus, "sum(tally_requests_total)") ?? -1), not \(total)")
        Thread.sleep(forTimeInterval: 1.5)  // one more scrape of the vLLM endpoint
        let errors = Double((0..<Fleet.count).filter { $0 % 25 == 0 }.count)
        let latencies = Fleet.latencies
        let exactP95 = latencies[Int((0.95 * Double(latencies.count)).rounded(.up)) - 1]
        var figures: [String] = []

        // Counters: exact.
        #expect(Self.query(prometheus, "sum(tally_requests_total)") == total)
        #expect(Self.query(prometheus, "sum(tally_request_errors_total)") == errors)
        #expect(Self.query(prometheus, "sum(tally_requests_total{ring=\"canary\"})") == total / 10)
        #expect(Self.query(prometheus, "sum(vllm:request_success_total{finished_reason=\"stop\"})") == total - errors)

        // rate() in the middle of the run: 1-second windows published ~2 s late and 1-second
        // scrapes make the curve a staircase; over 6 s it is within 20 % of the send rate.
        let rate = Self.query(prometheus, "sum(rate(tally_requests_total[6s]))", at: mid)
        figures.append("rate(tally_requests_total[6s]) at 10 s: \(rate ?? .nan) /s (sent \(Fleet.rate) /s)")
        #expect(rate.map { abs($0 - Double(Fleet.rate)) <= 0.2 * Double(Fleet.rate) } == true, "\(figures)")

        // Bucket counts: each window's t-digest rank at the bound, within 0.5 % of the count.
        for bound in [0.5, 1.0] {
            let got = Self.query(prometheus, "sum(tally_request_latency_seconds_bucket{le=\"\(bound)\"})")
            let exact = Double(latencies.prefix { $0 <= bound }.count)
            figures.append("bucket le=\(bound): \(got ?? .nan) vs \(exact)")
            #expect(got.map { abs($0 - exact) <= 0.005 * total } == true, "\(figures)")
        }

        // histogram_quantile: a classic histogram's answer is only known within the bucket
        // holding the true quantile; against what exact bucket counts would give (the ideal),
        // Tally's digest-derived counts add at most 5 % of that bucket's width.
        let checks: [(name: String, promQL: String, bounds: [Double])] = [
            ("tally p95", "histogram_quantile(0.95, sum by (le) (tally_request_latency_seconds_bucket))", FleetMetricsBounds.tally),
            ("vllm p95", "histogram_quantile(0.95, sum by (le) (vllm:e2e_request_latency_seconds_bucket{model_name=\"m-prom\"}))",
             FleetMetricsBounds.vllmRequestLatency),
            ("vllm p50", "histogram_quantile(0.5, sum by (le) (vllm:e2e_request_latency_seconds_bucket))", FleetMetricsBounds.vllmRequestLatency),
        ]
        for check in checks {
            let q = check.name.hasSuffix("p95") ? 0.95 : 0.5
            let exact = latencies[Int((q * Double(latencies.count)).rounded(.up)) - 1]
            let ideal = Self.idealHistogramQuantile(q, sorted: latencies, bounds: check.bounds)
            let (lower, upper) = Self.bucket(of: exact, check.bounds)
            let got = Self.query(prometheus, check.promQL)
            figures.append("\(check.name): \(got ?? .nan) s; ideal \(ideal) s; exact \(exact) s; bucket (\(lower), \(upper)]")
            #expect(got.map { abs($0 - ideal) <= 0.05 * (upper - lower) } == true, "\(figures)")
            #expect(got.map { $0 > lower && $0 <= upper } == true, "\(figures)")
        }
        // Over time, as dashboards ask: the p95 of the last 6 s of traffic, in the middle of the run.
        let ratedP95 = Self.query(prometheus, "histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket[6s])))",
                                  at: mid)
        let (lower, upper) = Self.bucket(of: exactP95, FleetMetricsBounds.vllmRequestLatency)
        figures.append("vllm p95 over rate(…[6s]) at 10 s: \(ratedP95 ?? .nan) s (all frames: \(exactP95) s in (\(lower), \(upper)])")
        #expect(ratedP95.map { $0 > lower && $0 <= upper } == true, "\(figures)")
        print("prometheus vs truth (\(Fleet.count) frames, 1 s windows, 1 s scrapes):\n  " + figures.joined(separator: "\n  "))
    }
}

/// The bucket bounds tallyd exposes (TallyHTTP's FleetMetrics and VLLMMetrics), restated
/// here as the README documents them: the test computes the ideal answer from them.
enum FleetMetricsBounds {
    static let tally: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30, 60]
    static let vllmRequestLatency: [Double] = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
                                               60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
}
