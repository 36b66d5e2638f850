import Testing
import TallyConfig
@testable import TallyIndex

/// The policy file: the default parses, a file overlays it key by key, and bad input
/// is refused naming the key and the line.
@Suite struct PolicyTests {
    @Test func theDefaultPolicyCarriesTheLiteraturesLatencyExampleAndZeroCriticalIncidents() throws {
        let policy = Policy.standard
        let latency = try #require(policy.thresholds[.latencyP95])
        #expect(latency.green == 2.5 && latency.yellow == 4.0 && latency.higherIsWorse)
        #expect(latency.light(2.4, requests: 1_000) == .green)
        #expect(latency.light(3.9, requests: 1_000) == .yellow)
        #expect(latency.light(4.1, requests: 1_000) == .red)
        #expect(latency.light(1.0, requests: 10) == .insufficientData)  // never green below the sample
        let critical = try #require(policy.thresholds[.criticalIncidents])
        #expect(critical.light(0, requests: 1) == .green)
        #expect(critical.light(1, requests: 1) == .red)
        #expect(policy.spans.map(\.name) == ["5m", "1h", "24h"])
        #expect(policy.slos.first?.rules.map(\.burnRate) == [14.4, 6, 1])
    }

    @Test func aFileChangesOnlyWhatItSets() throws {
        let policy = try Policy(file: """
            [kpis.latency_p95]
            green = 1.5
            [kpis.queue_p95]
            enabled = false
            """)
        #expect(policy.thresholds[.latencyP95]?.green == 1.5)
        #expect(policy.thresholds[.latencyP95]?.yellow == 4.0)
        #expect(policy.thresholds[.queueP95] == nil)
        #expect(policy.thresholds[.errorRate] == Policy.standard.thresholds[.errorRate])
    }

    @Test func lowerIsWorseThresholdsReadTheOtherWay() {
        let t = Threshold(higherIsWorse: false, green: 0.85, yellow: 0.75, minRequests: 10)
        #expect(t.light(0.9, requests: 100) == .green)
        #expect(t.light(0.8, requests: 100) == .yellow)
        #expect(t.light(0.7, requests: 100) == .red)
        #expect(t.light(nil, requests: 100) == .insufficientData)
    }

    @Test(arguments: [
        ("[kpis.latency_p95]\ngreen = \"fast\"", "kpis.latency_p95.green", "line 2"),
        ("[kpis.latency_p42]\ngreen = 1", "kpis.latency_p42.green", "unknown KPI"),
        ("[alerts]\nfiring_after = 2", "alerts.firing_after", "unknown key"),
        ("[kpis.latency_p95]\ngreen = 5\nyellow = 4", "kpis.latency_p95", "green ≤ yellow"),
        ("[index]\nspans = [\"5 minutes\"]", "index.spans", "duration"),
        ("[drift]\nspan = \"2h\"", "drift.span", "neither window nor a span"),
        ("[slos.latency]\nobjective = 0.99", "slos.latency", "at least one rule"),
        ("[canary]\nkpis = [\"requests\"]", "canary.kpis", "canary compares"),
    ])
    func badInputNamesTheKey(text: String, field: String, message: String) {
        do {
            _ = try Policy(file: text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }
}
