import Foundation
import Testing
import TallyIndex

/// The index end to end with the real processes: tallyd (1-second windows, a test
/// policy) fed by tally-load with scheduled faults, over loopback ipc://. Each fault
/// must raise its alert for its scope within 2 windows of onset and resolve within the
/// policy's recovery after it ends; a clean run of ≥ 300 windows must raise none.
/// Both print a table of what they measured (the issue's scenario table).
@Suite struct IndexScenarioTests {
    /// A small fleet (3 models × 2 rings × 2 languages = 12 series) so that a debug
    /// build of tallyd evaluates each window well within it.
    static let fleet = """
        tenants = 1
        users = 5000
        canary_share = 0.2
        error_rate = 0.002
        timeout_rate = 0.0005
        prompt_versions = ["p1"]
        routes = ["chat"]
        regions = []
        languages = ["en", "de"]
        tiers = []
        [models."alpha"]
        versions = ["v1"]
        median_latency_ms = 400
        [models."beta"]
        versions = ["v1"]
        median_latency_ms = 500
        [models."gamma"]
        versions = ["v1"]
        median_latency_ms = 300

        """

    static let policy = """
        [index]
        spans = ["10s"]
        cohort_keys = ["lang"]
        [drift]
        baseline_windows = 8
        min_requests = 500
        [slos.availability]
        scopes = ["model"]
        [slos.availability.page_fast]
        burn_rate = 6
        long_windows = 3
        short_windows = 1
        [slos.availability.page_slow]
        enabled = false
        [slos.availability.ticket]
        enabled = false
        """

    /// The tallyd these tests run: `TALLY_TEST_TALLYD` when set (Tools/test.sh builds a
    /// release tallyd for them: the index evaluates a window in ~0.6 s in a debug build,
    /// too close to the 1-second windows when other tests share the two cores), else the
    /// debug build next to the tests.
    static var tallydPath: String {
        ProcessInfo.processInfo.environment["TALLY_TEST_TALLYD"] ?? LoadTesterTests.binary("tallyd")
    }

    struct Fault {
        var name: String
        var start: Double
        var end: Double
        var profile: String
        /// Alerts (name, scope) the fault must raise.
        var expected: [(name: String, scope: String)]
    }

    static let faults = [
        Fault(name: "canary-regression", start: 15, end: 25,
              profile: "model = \"alpha\"\nring = \"canary\"\nlatency_multiplier = 5\nerror_multiplier = 10",
              expected: [("kpi:latency_p95", "model=alpha,ring=canary"), ("canary:roll_back", "model=alpha,ring=canary")]),
        Fault(name: "model-errors", start: 30, end: 40, profile: "model = \"beta\"\nerror_multiplier = 30",
              expected: [("kpi:error_rate", "model=beta"), ("slo:availability:page_fast", "model=beta")]),
        Fault(name: "cohort-refusals", start: 45, end: 55, profile: "tag = \"lang=de\"\nrefusal_multiplier = 8",
              expected: [("kpi:refusal_rate", "lang=de"), ("fairness:refusal_rate", "lang")]),
        Fault(name: "critical-safety", start: 60, end: 64,
              profile: "model = \"gamma\"\nsafety_multiplier = 20\nsafety_severity = \"critical\"",
              expected: [("kpi:critical_incidents", "model=gamma")]),
        Fault(name: "silenced-model", start: 70, end: 78, profile: "model = \"gamma\"\nsilence = true",
              expected: [("no_data", "model=gamma")]),
        Fault(name: "category-shift", start: 84, end: 94, profile: "category_shift = 0.7",
              expected: [("drift:category", "fleet")]),
    ]

    struct Run {
        var windows: [IndexDocument]
        var startedMicros: UInt64
        var load: String
    }

    /// tallyd with the test policy and tally-load with `profile` for `seconds`; the
    /// window documents tallyd wrote to its JSON-lines sink.
    func run(profile: String, seconds: Int) throws -> Run {
        let dir = NSTemporaryDirectory() + "tally-index-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.policy.write(toFile: dir + "/policy.toml", atomically: true, encoding: .utf8)
        try profile.write(toFile: dir + "/profile.toml", atomically: true, encoding: .utf8)
        let endpoint = "ipc://" + dir + "/frames"
        let tallyd = Process()
        tallyd.executableURL = URL(fileURLWithPath: Self.tallydPath)
        tallyd.arguments = ["--endpoint", endpoint, "--data-dir", dir + "/data", "--window", "1", "--pub", "", "--replay", "", "--http", "",
                            "--collector-id", "scenario", "--policy", dir + "/policy.toml", "--json", dir + "/index.jsonl"]
        tallyd.environment = ["TALLY_ALLOWED_LATENESS_SECONDS": "1"]
        tallyd.standardError = FileHandle.nullDevice
        try tallyd.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dir + "/frames") && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let (status, output) = try LoadTesterTests().runLoad(
            ["--endpoint", endpoint, "--profile", dir + "/profile.toml", "--rate", "4000", "--duration", "\(seconds)",
             "--json", "--quiet"], timeout: Double(seconds) + 60)
        Thread.sleep(forTimeInterval: 3)  // the last windows close (1 s lateness) and flush
        tallyd.interrupt()
        tallyd.waitUntilExit()
        #expect(status == 0, "\(output)")
        let report = output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        let started = (try? JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])?["started_us"] as? NSNumber
        let text = try String(contentsOfFile: dir + "/index.jsonl", encoding: .utf8)
        var windows: [IndexDocument] = []
        let decoder = JSONDecoder()
        for line in text.split(separator: "\n") where line.hasPrefix("{\"index\":") {
            let json = line.dropFirst("{\"index\":".count).dropLast()
            let document = try decoder.decode(IndexDocument.self, from: Data(json.utf8))
            if document.span == "window" { windows.append(document) }
        }
        return Run(windows: windows, startedMicros: started?.uint64Value ?? 0, load: output)
    }

    @Test(.timeLimit(.minutes(15)))
    func everyInjectedFaultRaisesItsAlertForItsScopeAndResolves() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tallydPath), "build tallyd first")
        var profile = Self.fleet
        for fault in Self.faults {
            profile += "[scenarios.\"\(fault.name)\"]\nstart_s = \(Int(fault.start))\nend_s = \(Int(fault.end))\n\(fault.profile)\n\n"
        }
        let result = try run(profile: profile, seconds: 100)
        try #require(result.startedMicros > 0, "no started_us in the load report: \(result.load)")
        #expect(result.windows.count >= 95, "windows evaluated: \(result.windows.count)")
        let events = result.windows.flatMap(\.alerts.events)
        func window(_ micros: UInt64) -> Int { Int(micros / 1_000_000) }
        print("index scenario table (1 s windows; detected/resolved = windows after the fault's onset/end):")
        print("| fault | alert | scope | detected after | resolved after |")
        for fault in Self.faults {
            let onset = window(result.startedMicros + UInt64(fault.start * 1e6))
            let end = window(result.startedMicros + UInt64(fault.end * 1e6))
            for (name, scope) in fault.expected {
                let key = name + "|" + scope
                let fired = events.first { $0.state == "firing" && $0.alert.key == key && window($0.atMicros) > onset }
                let resolved = events.first { $0.state == "resolved" && $0.alert.key == key && window($0.atMicros) > end }
                // An event's window is the one ending at `atMicros`: its start is atMicros − 1 s.
                let detected = fired.map { window($0.atMicros) - 1 - onset }
                let recovered = resolved.map { window($0.atMicros) - 1 - end }
                print("| \(fault.name) | \(name) | \(scope) | \(detected.map(String.init) ?? "never") | \(recovered.map(String.init) ?? "never") |")
                #expect(detected != nil && detected! <= 2, "\(fault.name): \(key) detected after \(detected ?? -1) windows")
                // Recovery: the policy's 3 healthy windows, plus the window the fault ended in.
                #expect(recovered != nil && recovered! <= 4, "\(fault.name): \(key) resolved after \(recovered ?? -1) windows")
                let firings = events.filter { $0.state == "firing" && $0.alert.key == key }
                #expect(firings.count == 1, "\(key) fired \(firings.count) times")
            }
        }
        // Canary verdicts: roll_back for alpha during its regression, promote outside it.
        let onset = window(result.startedMicros + 15_000_000), end = window(result.startedMicros + 25_000_000)
        let alpha = result.windows.compactMap { d in d.canary.first { $0.model == "alpha" }.map { (window(d.startMicros), $0.verdict) } }
        let during = alpha.filter { $0.0 > onset + 1 && $0.0 < end }.map(\.1)
        let before = alpha.filter { $0.0 > window(result.startedMicros) + 1 && $0.0 < onset }.map(\.1)
        // `hold` (worse beyond tolerance, not significant yet) is a fair verdict on noise;
        // a healthy canary is never rolled back and a regressed one never promoted.
        #expect(!during.isEmpty && !during.contains(.promote), "\(during)")
        #expect(Double(during.filter { $0 == .rollBack }.count) >= 0.8 * Double(during.count), "\(during)")
        #expect(!before.isEmpty && !before.contains(.rollBack), "\(before)")
        #expect(Double(before.filter { $0 == .promote }.count) >= 0.8 * Double(before.count), "\(before)")
    }

    @Test(.timeLimit(.minutes(20)))
    func cleanTrafficRaisesNoAlertOverThreeHundredWindows() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tallydPath), "build tallyd first")
        let result = try run(profile: Self.fleet, seconds: 305)
        let fired = result.windows.flatMap(\.alerts.events).filter { $0.state == "firing" }
        print("index clean run: \(result.windows.count) windows, \(fired.count) alerts fired (false alarms)")
        #expect(result.windows.count >= 300)
        #expect(fired.isEmpty, "\(fired.map { "\($0.alert.key): \($0.alert.summary)" })")
        let rollBacks = result.windows.flatMap { d in
            d.canary.filter { $0.verdict == .rollBack }.map { v in
                "window \(d.startMicros): \(v.model) \(v.reason) (stable \(v.stableRequests), canary \(v.canaryRequests); "
                    + v.kpis.filter(\.regression).map { "\($0.kpi.rawValue) \($0.stable ?? .nan) vs \($0.canary ?? .nan) p \($0.pValue ?? .nan)" }
                    .joined(separator: ", ") + ")"
            }
        }
        #expect(rollBacks.isEmpty, "a healthy canary rolled back: \(rollBacks)")
    }
}
