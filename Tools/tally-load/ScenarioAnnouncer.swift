import TallySynthetic

/// The lines tally-load prints on stderr as the profile's scenarios start and end:
/// `scenario canary-latency: start (model=…, ring=canary: latency ×3)`, then
/// `scenario canary-latency: end`. Each line comes once, at the first look at or
/// after its time; a scenario still on when the run stops gets no end line.
struct ScenarioAnnouncer {
    private let scenarios: [Scenario]
    /// Per scenario: 0 not started, 1 on, 2 ended.
    private var phases: [UInt8]

    init(scenarios: [Scenario]) {
        self.scenarios = scenarios
        phases = Array(repeating: 0, count: scenarios.count)
    }

    /// The lines due at `elapsedSeconds` since the run's start (warm-up included), in
    /// scenario order; none when nothing changed since the last call.
    mutating func lines(atSecond elapsedSeconds: Double) -> [String] {
        var lines: [String] = []
        for (index, scenario) in scenarios.enumerated() {
            if phases[index] == 0 && elapsedSeconds >= scenario.startSeconds {
                phases[index] = 1
                lines.append("scenario \(scenario.name): start \(scenario.summary)")
            }
            if phases[index] == 1 && elapsedSeconds >= scenario.endSeconds {
                phases[index] = 2
                lines.append("scenario \(scenario.name): end")
            }
        }
        return lines
    }
}
