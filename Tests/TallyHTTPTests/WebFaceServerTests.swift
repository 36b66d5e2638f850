import Foundation
import Testing
import TallyTestSupport

/// The web face end to end: the real tallyd (1-second windows, the web face on a free
/// loopback port through TALLY_HTTP_LISTEN, a bearer token) fed by tally-load with a
/// small fleet; every endpoint checked over HTTP, then tallyd stopped with SIGINT.
@Suite struct WebFaceServerTests {
    static let token = "test-token-1234"
    static let auth = ["Authorization": "Bearer \(token)"]

    /// 2 models × 2 rings × 2 languages: canary verdicts and a cohort key.
    static let fleet = """
        tenants = 1
        languages = ["en", "fr"]
        canary_share = 0.25
        tiers = []
        routes = ["chat"]
        regions = []
        prompt_versions = ["p1"]
        [models."m-one"]
        median_latency_ms = 350
        versions = ["v1"]
        [models."m-two"]
        median_latency_ms = 600
        versions = ["v2"]

        """

    static let policy = """
        [index]
        spans = ["10s"]
        cohort_keys = ["lang"]

        """

    static func binary(_ name: String) -> String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/\(name)").path
    }

    static var tallydPath: String { ProcessInfo.processInfo.environment["TALLY_TEST_TALLYD"] ?? binary("tallyd") }

    /// Polls `body` every 200 ms until it returns true or `seconds` pass.
    static func eventually(_ seconds: Double, _ body: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if body() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    /// Every sample's family has `# HELP` and `# TYPE` (suffixes resolved per format).
    static func undocumentedSamples(_ text: String, openMetrics: Bool) -> [String] {
        var help = Set<String>(), type = Set<String>(), missing: [String] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 3)
            if line.hasPrefix("# HELP ") { help.insert(String(parts[2])) }
            if line.hasPrefix("# TYPE ") { type.insert(String(parts[2])) }
            if line.hasPrefix("#") { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            var candidates = [name]
            for suffix in ["_total", "_bucket", "_sum", "_count", "_created"] where name.hasSuffix(suffix) {
                candidates.append(String(name.dropLast(suffix.count)))
            }
            if !candidates.contains(where: { help.contains($0) && type.contains($0) }) { missing.append(name) }
        }
        return missing
    }

    /// What `promtool check metrics` says of an exposition ("" when it is clean).
    static func promtoolCheck(_ exposition: String) throws -> String {
        let promtool = "/usr/bin/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "promtool not installed (Tools/setup.sh installs prometheus)")
        let check = Process()
        check.executableURL = URL(fileURLWithPath: promtool)
        check.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        check.standardInput = input
        check.standardOutput = output
        check.standardError = output
        try check.run()
        input.fileHandleForWriting.write(Data(exposition.utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        let text = report.trimmingCharacters(in: .whitespacesAndNewlines)
        return check.terminationStatus == 0 ? text : "exit \(check.terminationStatus)\n" + text
    }

    @Test(.timeLimit(.minutes(15)))
    func servesHealthMetricsAPIAndDashboardAndStopsWithTallyd() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tallydPath), "build tallyd first")
        let dir = NSTemporaryDirectory() + "tally-http-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.fleet.write(toFile: dir + "/fleet.toml", atomically: true, encoding: .utf8)
        try Self.policy.write(toFile: dir + "/policy.toml", atomically: true, encoding: .utf8)
        let port = HTTPGet.freePort()
        let endpoint = "ipc://" + dir + "/frames"
        let tallyd = Process()
        tallyd.executableURL = URL(fileURLWithPath: Self.tallydPath)
        tallyd.arguments = ["--endpoint", endpoint, "--data-dir", dir + "/data", "--window", "1", "--pub", "", "--replay", "",
                            "--collector-id", "http-test", "--policy", dir + "/policy.toml"]
        tallyd.environment = ["TALLY_HTTP_LISTEN": "127.0.0.1:\(port)", "TALLY_HTTP_TOKEN": Self.token,
                              "TALLY_ALLOWED_LATENESS_SECONDS": "1", "TALLY_HTTP_VLLM_METRICS": "true"]
        tallyd.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try tallyd.run()
        let load = Process()
        defer {
            if load.isRunning { load.terminate(); load.waitUntilExit() }
            if tallyd.isRunning { tallyd.terminate(); tallyd.waitUntilExit() }
        }
        func get(_ path: String, _ headers: [String: String] = Self.auth) -> HTTPGet.Reply? {
            try? HTTPGet.get(port: port, path, headers: headers)
        }

        // Health before any traffic; readiness waits for a window.
        try #require(Self.eventually(30) { get("/healthz", [:])?.status == 200 }, "no /healthz on port \(port)")
        #expect(get("/healthz", [:])?.body == "ok\n")
        #expect(get("/readyz", [:])?.status == 401)
        #expect(get("/readyz")?.status == 503)

        load.executableURL = URL(fileURLWithPath: Self.binary("tally-load"))
        load.arguments = ["--endpoint", endpoint, "--profile", dir + "/fleet.toml", "--rate", "1500", "--duration", "30", "--quiet"]
        load.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        load.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try load.run()
        #expect(Self.eventually(30) { get("/readyz")?.status == 200 })
        // A few windows with traffic and index documents.
        let enough = Self.eventually(40) {
            guard let held = get("/api/v1/index/windows")?.json?["held"] as? [String: Any] else { return false }
            guard (held["windows"] as? Int ?? 0) >= 4 else { return false }
            return (get("/api/v1/index")?.json?["canary"] as? [Any])?.isEmpty == false
        }
        try #require(enough, "fewer than 4 windows with canary verdicts held")

        // The bearer token.
        #expect(get("/metrics", [:])?.status == 401)
        #expect(get("/metrics", ["Authorization": "Bearer wrong"])?.status == 401)
        #expect(get("/api/v1/alerts", [:])?.status == 401)

        // /metrics, Prometheus text 0.0.4.
        let prometheus = try #require(get("/metrics"))
        #expect(prometheus.status == 200)
        #expect(prometheus.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        for needle in ["# TYPE tally_frames_accepted_total counter", "tally_requests_total{model=\"m-one\",model_version=\"v1\",ring=\"",
                       "tally_request_errors_total{", "tally_tokens_total{", "tally_sink_delivered_total{sink=\"file\"}",
                       "# TYPE tally_sink_queue_depth gauge", "# TYPE tally_flush_duration_seconds gauge",
                       "tally_request_latency_seconds_bucket{", "le=\"+Inf\"}", "tally_request_latency_seconds_count{",
                       "tally_index_light{scope=\"fleet\",kpi=\"latency_p95\"}", "tally_alerts_firing ",
                       "tally_metrics_label_sets_folded_total 0", "tally_series_active "] {
            #expect(prometheus.body.contains(needle), "missing \(needle)")
        }
        #expect(!prometheus.body.contains("# EOF"))
        #expect(Self.undocumentedSamples(prometheus.body, openMetrics: false).isEmpty,
                "\(Self.undocumentedSamples(prometheus.body, openMetrics: false).prefix(5))")

        // promtool (Debian package prometheus, which Tools/setup.sh installs) finds nothing to say.
        #expect(try Self.promtoolCheck(prometheus.body) == "", "promtool check metrics on /metrics")
        let vllm = try #require(get("/metrics/vllm"))
        #expect(vllm.status == 200)
        for needle in ["vllm:e2e_request_latency_seconds_bucket{model_name=\"m-one\",le=\"0.3\"}",
                       "vllm:time_to_first_token_seconds_count{model_name=\"m-one\"}", "vllm:request_success_total{model_name=\"m-one\""] {
            #expect(vllm.body.contains(needle), "/metrics/vllm: missing \(needle)")
        }
        // vLLM's own names contain ':' (recording-rule style), which promtool's lint flags for
        // vLLM itself too; nothing else may be reported.
        let vllmLint = try Self.promtoolCheck(vllm.body).split(separator: "\n")
            .filter { !$0.hasSuffix("metric names should not contain ':'") && !$0.hasPrefix("exit ") }
        #expect(vllmLint.isEmpty, "promtool check metrics on /metrics/vllm: \(vllmLint)")

        // /metrics, OpenMetrics 1.0.
        let open = try #require(get("/metrics", Self.auth.merging(["Accept": "application/openmetrics-text; version=1.0.0"]) { $1 }))
        #expect(open.status == 200)
        #expect(open.header("content-type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(open.body.hasSuffix("# EOF\n"))
        #expect(open.body.contains("# TYPE tally_frames_accepted counter\n"))
        #expect(open.body.contains("\ntally_frames_accepted_total "))
        #expect(!open.body.contains("# TYPE tally_frames_accepted_total"))
        #expect(open.body.contains("# UNIT tally_request_latency_seconds seconds\n"))
        #expect(Self.undocumentedSamples(open.body, openMetrics: true).isEmpty,
                "\(Self.undocumentedSamples(open.body, openMetrics: true).prefix(5))")

        // Bad parameters are named; a range not held is a 404 with the held range.
        let badSpan = get("/api/v1/index?span=fortnight")
        #expect(badSpan?.status == 400)
        #expect(badSpan?.json?["parameter"] as? String == "span")
        #expect(get("/api/v1/index?span=10s")?.status == 200)
        #expect(get("/api/v1/scopes?kind=planet")?.json?["parameter"] as? String == "kind")
        #expect(get("/api/v1/scopes?limit=0")?.json?["parameter"] as? String == "limit")
        #expect(get("/api/v1/scopes?light=purple")?.json?["parameter"] as? String == "light")
        #expect(get("/api/v1/index/windows?from=abc")?.json?["parameter"] as? String == "from")
        let notHeld = get("/api/v1/index/windows?from=1000&to=2000")
        #expect(notHeld?.status == 404)
        #expect((notHeld?.json?["held"] as? [String: Any])?["from_us"] != nil)
        // Whole snapshots: the newest from memory, older ones from the data directory.
        let stored = try #require(get("/api/v1/snapshots?limit=3")?.json)
        let lines = stored["snapshots"] as? [[String: Any]] ?? []
        let starts = lines.compactMap { ($0["window_start_us"] as? NSNumber)?.uint64Value }
        #expect(starts.count == 3 && starts == starts.sorted() && Set(starts).count == 3, "\(starts)")
        #expect(lines.allSatisfy { $0["collector"] as? String == "http-test" && $0["series"] is [Any] })
        #expect(((stored["held"] as? [String: Any])?["windows"] as? Int ?? 0) >= 4)
        if let oldest = starts.first {
            let one = get("/api/v1/snapshots?from=\(oldest)&to=\(oldest + 1)")?.json?["snapshots"] as? [[String: Any]]
            #expect(one?.compactMap { ($0["window_start_us"] as? NSNumber)?.uint64Value } == [oldest])
        }
        let noneStored = get("/api/v1/snapshots?from=1000&to=2000")
        #expect(noneStored?.status == 404 && (noneStored?.json?["held"] as? [String: Any])?["from_us"] != nil)
        #expect(get("/api/v1/snapshots?limit=0")?.json?["parameter"] as? String == "limit")
        let series = get("/api/v1/series?model=m-one&tag=lang%3Dfr&limit=2")?.json
        let rows = series?["series"] as? [[String: Any]] ?? []
        #expect((series?["total"] as? Int ?? 0) >= 1 && rows.count >= 1 && rows.count <= 2, "\(String(describing: series))")
        #expect(rows.allSatisfy { ($0["labels"] as? [String: String])?["model"] == "m-one" && ($0["labels"] as? [String: String])?["tag.lang"] == "fr" })
        #expect(get("/api/v1/series?tag=nolabel")?.json?["parameter"] as? String == "tag")
        #expect(get("/api/v1/series?ring=blue")?.json?["parameter"] as? String == "ring")
        let page = get("/api/v1/scopes?kind=model&limit=1&offset=1")?.json
        #expect(page?["total"] as? Int == 2)
        #expect((page?["scopes"] as? [Any])?.count == 1)

        // Every path of the OpenAPI document answers with the keys its schema lists.
        let spec = try #require(get("/api/v1/openapi.json")?.json)
        let paths = try #require(spec["paths"] as? [String: Any])
        let schemas = try #require((spec["components"] as? [String: Any])?["schemas"] as? [String: Any])
        #expect(paths.count >= 8)
        for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
            let reply = get(path)
            if path == "/api/v1/fleet/index/windows" {
                // Answers only with http_fleet_index (PostgreSQL: PostgresFleetAPITests); off here.
                #expect(reply?.status == 404 && reply?.json?["error"] as? String == "not enabled: set http_fleet_index = true (with postgres_url) in tallyd's configuration")
                continue
            }
            #expect(reply?.status == 200, "\(path): \(reply?.status ?? -1)")
            let ok = ((item as? [String: Any])?["get"] as? [String: Any]).flatMap { ($0["responses"] as? [String: Any])?["200"] as? [String: Any] }
            guard let schema = ((ok?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any] else { continue }
            let name = (schema["$ref"] as? String)?.split(separator: "/").last.map(String.init) ?? ""
            let resolved = try #require(schemas[name] as? [String: Any], "\(path): schema \(name)")
            let properties = Set((resolved["properties"] as? [String: Any] ?? [:]).keys)
            let required = Set(resolved["required"] as? [String] ?? [])
            let keys = Set(reply?.json?.keys.map { $0 } ?? [])
            #expect(keys.isSubset(of: properties), "\(path): keys not in the schema: \(keys.subtracting(properties))")
            #expect(required.isSubset(of: keys), "\(path): required keys missing: \(required.subtracting(keys))")
        }

        // The dashboard: executive indicators with lights, canary verdicts, trends, paging.
        let page1 = try #require(get("/"))
        #expect(page1.status == 200)
        #expect(page1.header("content-type") == "text/html; charset=utf-8")
        for id in ["exec-overall", "exec-quality", "exec-cost", "exec-safety", "exec-latency-slo", "exec-drift", "exec-alerts"] {
            #expect(page1.body.contains("id=\"\(id)\" data-light=\""), "missing \(id)")
        }
        #expect(page1.body.contains("id=\"canary-m-one\" class=\"canary-verdict\" data-verdict=\""))
        #expect(page1.body.contains("id=\"breakdown-table\""))
        #expect(page1.body.contains("id=\"chart-latency\""))
        #expect(page1.body.contains("id=\"fairness-lang-"))
        #expect(!page1.body.contains("<script src"))
        #expect(get("/?kind=ring")?.body.contains("data-scope=\"ring=canary\"") == true)
        let scope = get("/scope?id=model%3Dm-one")
        #expect(scope?.status == 200)
        #expect(scope?.body.contains("id=\"scope-light\" data-light=\"") == true)
        #expect(get("/scope")?.json?["parameter"] as? String == "id")

        // Graceful stop: SIGINT stops the collector and the web face; exit 0.
        load.waitUntilExit()
        tallyd.interrupt()
        let stopped = Self.eventually(30) { !tallyd.isRunning }
        #expect(stopped, "tallyd did not stop within 30 s of SIGINT")
        if stopped { #expect(tallyd.terminationStatus == 0) }
        #expect(get("/healthz", [:]) == nil, "the web face still answers after tallyd stopped")
    }
}
