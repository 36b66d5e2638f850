import Foundation
import Testing
@testable import TallyDaemon
import TallyIndex

/// Alerts out to a real Alertmanager (Debian's `prometheus-alertmanager`, which
/// Tools/setup.sh installs), on loopback: the HTTP client against its API, then tallyd
/// (1-second windows, `TALLY_ALERTMANAGER_URL`) fed by tally-load with a canary
/// regression, while the test polls Alertmanager's active alerts.
@Suite(.serialized) struct AlertmanagerTests {
    static let binary = "/usr/bin/prometheus-alertmanager"
    static let amtool = "/usr/bin/amtool"

    /// An Alertmanager on 127.0.0.1 (a free port) with one route to a null receiver and
    /// no clustering.
    final class Alertmanager: @unchecked Sendable {
        let server: ServerProcess
        var url: HTTPURL { server.url }

        init() throws {
            server = try ServerProcess(binary: AlertmanagerTests.binary, name: "am", files: ["alertmanager.yml": """
                global:
                  resolve_timeout: 5m
                route:
                  receiver: "null"
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: "null"

                """]) { directory, port in
                ["--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data",
                 "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
            }
        }

        func ready(within seconds: Double) -> Bool { server.ready("/-/ready", within: seconds) }

        /// `GET /api/v2/alerts?active=true`: the active alerts' labels and states.
        func activeAlerts() throws -> [(labels: [String: String], state: String)] {
            let response = try server.get("/api/v2/alerts?active=true")
            guard response.status == 200,
                  let array = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] else {
                throw SinkError("GET /api/v2/alerts: HTTP \(response.status)")
            }
            return array.map { alert -> (labels: [String: String], state: String) in
                (labels: (alert["labels"] as? [String: String]) ?? [:],
                 state: ((alert["status"] as? [String: Any])?["state"] as? String) ?? "")
            }
        }

        var log: String { server.log }
        func stop() { server.stop() }
    }

    static func stop(_ process: Process, within seconds: Double) { ServerProcess.stop(process, within: seconds) }

    /// `amtool alert query` against `url`, bounded to 10 s: its output.
    static func amtoolQuery(_ url: HTTPURL, _ matcher: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: amtool)
        process.arguments = ["alert", "query", "--alertmanager.url=\(url)", matcher]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        stop(process, within: 1)
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test(.timeLimit(.minutes(15)))
    func theClientPostsToAlertmanagerAndAMalformedBodyIsA400SinkError() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) not installed (Debian package prometheus-alertmanager; Tools/setup.sh installs it)")
        let alertmanager = try Alertmanager()
        defer { alertmanager.stop() }
        try #require(alertmanager.ready(within: 20), "Alertmanager not ready: \(alertmanager.log)")
        let endpoint = alertmanager.url.appending(path: "/api/v2/alerts")
        #expect { _ = try HTTPPost.post(endpoint, body: Array("{\"labels\":".utf8)) } throws: { error in
            (error as? SinkError)?.message.contains("HTTP 400") == true
        }
        let alert = AlertmanagerPayloadTests.alert("kpi:error_rate", scope: "lang=de")
        let body = try PostableAlert.encode(PostableAlert.alerts(collector: "am-test", open: [alert], events: []))
        #expect(try HTTPPost.post(endpoint, body: body).status == 200)
        let active = try alertmanager.activeAlerts()
        #expect(active.contains { $0.labels["alertname"] == "kpi_error_rate" && $0.labels["cohort_lang"] == "de" },
                "\(active)")
    }

    @Test(.timeLimit(.minutes(15)))
    func tallydsCanaryRegressionAlertsFireAndResolveInAlertmanager() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) not installed (Debian package prometheus-alertmanager; Tools/setup.sh installs it)")
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let dir = NSTemporaryDirectory() + "tally-am-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let alertmanager = try Alertmanager()
        defer { alertmanager.stop() }
        try #require(alertmanager.ready(within: 20), "Alertmanager not ready: \(alertmanager.log)")

        let (onset, end, seconds) = (8.0, 20.0, 32)
        try IndexScenarioTests.policy.write(toFile: dir + "/policy.toml", atomically: true, encoding: .utf8)
        try (IndexScenarioTests.fleet + """
            [scenarios."canary-regression"]
            start_s = \(Int(onset))
            end_s = \(Int(end))
            model = "alpha"
            ring = "canary"
            latency_multiplier = 5
            error_multiplier = 10

            """).write(toFile: dir + "/profile.toml", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: dir + "/tallyd.log", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/load.log", contents: nil)
        let endpoint = "ipc://" + dir + "/frames"
        let tallyd = Process()
        tallyd.executableURL = URL(fileURLWithPath: IndexScenarioTests.tallydPath)
        tallyd.arguments = ["--endpoint", endpoint, "--data-dir", dir + "/data", "--window", "1", "--pub", "", "--replay", "",
                            "--http", "", "--collector-id", "am-scenario", "--policy", dir + "/policy.toml"]
        tallyd.environment = ["TALLY_ALLOWED_LATENESS_SECONDS": "1",
                              "TALLY_ALERTMANAGER_URL": "http://127.0.0.1:\(alertmanager.url.port)"]
        tallyd.standardError = FileHandle(forWritingAtPath: dir + "/tallyd.log")
        tallyd.standardOutput = FileHandle.nullDevice
        try tallyd.run()
        defer { Self.stop(tallyd, within: 10) }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dir + "/frames") && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }

        let load = Process()
        load.executableURL = URL(fileURLWithPath: LoadTesterTests.binary("tally-load"))
        load.arguments = ["--endpoint", endpoint, "--profile", dir + "/profile.toml", "--rate", "4000",
                          "--duration", "\(seconds)", "--json", "--quiet"]
        load.standardOutput = FileHandle(forWritingAtPath: dir + "/load.log")
        load.standardError = load.standardOutput
        let started = Date()
        try load.run()
        defer { Self.stop(load, within: 5) }

        // Poll Alertmanager every 0.5 s: when each expected alert is first seen active, and
        // when it is first missing from the active list after that.
        let expected = ["kpi_latency_p95", "canary_roll_back"]
        var firstSeen: [String: Double] = [:], gone: [String: Double] = [:]
        var labelsSeen: [String: [String: String]] = [:]
        var amtoolOutput: String?
        let pollUntil = started.addingTimeInterval(Double(seconds) + 15)
        while Date() < pollUntil {
            let now = Date().timeIntervalSince(started)
            guard let active = try? alertmanager.activeAlerts() else {
                Thread.sleep(forTimeInterval: 0.5)
                continue
            }
            for name in expected {
                guard let alert = active.first(where: {
                    $0.labels["alertname"] == name && $0.labels["scope"] == "model=alpha,ring=canary" && $0.state == "active"
                }) else {
                    if firstSeen[name] != nil && gone[name] == nil { gone[name] = now }
                    continue
                }
                if firstSeen[name] == nil { firstSeen[name] = now }
                gone[name] = nil
                labelsSeen[name] = alert.labels
            }
            if amtoolOutput == nil && firstSeen["kpi_latency_p95"] != nil && FileManager.default.isExecutableFile(atPath: Self.amtool) {
                amtoolOutput = try Self.amtoolQuery(alertmanager.url, "alertname=kpi_latency_p95")
            }
            // Done once the load is over and both came and went.
            if !load.isRunning && expected.allSatisfy({ gone[$0] != nil }) { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let afterwards = try alertmanager.activeAlerts()
        Self.stop(load, within: 5)
        let loadLog = (try? String(contentsOfFile: dir + "/load.log", encoding: .utf8)) ?? ""
        #expect(load.terminationStatus == 0, "\(loadLog)")
        let tallydLog = (try? String(contentsOfFile: dir + "/tallyd.log", encoding: .utf8)) ?? ""
        let context = "tallyd: \(tallydLog.split(separator: "\n").filter { $0.contains("alert") || $0.contains("sink") }.suffix(20))"

        // Whole seconds after onset (resp. end) = 1-second windows.
        func windows(_ t: Double?, after: Double) -> Int? { t.map { Int(($0 - after).rounded(.up)) } }
        print("alertmanager timeline (1 s windows; regression \(Int(onset))–\(Int(end)) s of \(seconds) s):")
        for name in expected {
            let active = windows(firstSeen[name], after: onset), resolved = windows(gone[name], after: end)
            print("| \(name) | active in Alertmanager after \(active.map(String.init) ?? "never") windows | "
                  + "gone after \(resolved.map(String.init) ?? "never") windows |")
            #expect(active != nil && active! <= 6, "\(name) active after \(active ?? -1) windows; \(context)")
            #expect(resolved != nil && resolved! <= 10, "\(name) resolved after \(resolved ?? -1) windows; \(context)")
            #expect(!afterwards.contains { $0.labels["alertname"] == name }, "\(name) still active: \(afterwards)")
        }
        let labels = labelsSeen["kpi_latency_p95"] ?? [:]
        #expect(labels["model"] == "alpha" && labels["ring"] == "canary" && labels["severity"] == "page"
                && labels["tally_alert"] == "kpi:latency_p95" && labels["owner"] == "inference-platform"
                && labels["fingerprint"] == Alert.fingerprint("kpi:latency_p95|model=alpha,ring=canary"), "\(labels)")
        #expect(labelsSeen["canary_roll_back"]?["severity"] == "page")
        if FileManager.default.isExecutableFile(atPath: Self.amtool) {
            #expect(amtoolOutput?.contains("kpi_latency_p95") == true, "amtool: \(amtoolOutput ?? "not run")")
        }
    }
}
