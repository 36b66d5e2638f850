import TallyClient
import TallyCore
import TallyDaemon
import TallySynthetic

/// What a run did: per producer and in total, frames sent and dropped by the
/// client (by reason), the achieved rate over the measured period (after the
/// warm-up) and the CPU tally-load itself used in it; the frames each scenario
/// matched and the frames scenarios silenced (never recorded, so never sent).
struct LoadReport {
    let producers: [(id: UInt64, counters: TallyClientCounters)]
    let scenarios: [(scenario: Scenario, matched: UInt64)]
    let silenced: UInt64
    let measuredSeconds: Double
    /// Frames recorded in the measured period.
    let measuredFrames: UInt64
    let totalSeconds: Double
    /// Wall clock (µs since the epoch) at which the producers started: the origin of
    /// the scenarios' `start_s` and `end_s`.
    let startedMicros: UInt64
    let cpuUser: Double
    let cpuSystem: Double

    var recorded: UInt64 { producers.reduce(0) { $0 + $1.counters.framesRecorded } }
    var sent: UInt64 { producers.reduce(0) { $0 + $1.counters.framesSent } }
    var batches: UInt64 { producers.reduce(0) { $0 + $1.counters.batchesSent } }
    var dropped: [ClientDropReason: UInt64] {
        var result: [ClientDropReason: UInt64] = [:]
        for reason in ClientDropReason.allCases {
            let n = producers.reduce(0) { $0 + $1.counters.dropped(reason) }
            if n > 0 { result[reason] = n }
        }
        return result
    }
    /// Frames per second recorded in the measured period.
    var rate: Double { Double(measuredFrames) / Swift.max(measuredSeconds, 1e-9) }
    /// CPU used in the measured period, in cores (1.0 = one core busy).
    var cores: Double { (cpuUser + cpuSystem) / Swift.max(measuredSeconds, 1e-9) }

    var text: String {
        let drops = dropped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name) \($0.value)" }
        var lines = [
            "tally-load: \(producers.count) producer(s), recorded \(recorded), sent \(sent) in \(batches) batches, "
                + "client dropped \(drops.isEmpty ? "0" : drops.joined(separator: ", "))",
            "tally-load: \(String(format: "%.0f", rate)) frames/s over the measured \(String(format: "%.1f", measuredSeconds)) s "
                + "(\(String(format: "%.1f", totalSeconds)) s in all); CPU \(String(format: "%.2f", cpuUser)) s user + "
                + "\(String(format: "%.2f", cpuSystem)) s system = \(String(format: "%.2f", cores)) cores",
        ]
        for (scenario, matched) in scenarios {
            let end = scenario.endSeconds.isFinite ? String(format: "%g s", scenario.endSeconds) : "the end"
            lines.append("tally-load: scenario \(scenario.name) (\(String(format: "%g", scenario.startSeconds)) s to \(end)): "
                         + "matched \(matched) frames")
        }
        if !scenarios.isEmpty { lines.append("tally-load: silenced \(silenced) frames (not recorded)") }
        if producers.count > 1 {
            for (id, c) in producers {
                lines.append("  producer \(ProducerLedger.label(id)): sent \(c.framesSent), dropped \(c.framesDropped)")
            }
        }
        return lines.joined(separator: "\n")
    }

    func json(verification: String?) -> String {
        let drops = dropped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\"\($0.key.name)\":\($0.value)" }
        let each = producers.map { id, c in
            "{\"producer\":\"\(ProducerLedger.label(id))\",\"recorded\":\(c.framesRecorded),\"sent\":\(c.framesSent),\"dropped\":\(c.framesDropped)}"
        }
        let scenarioJSON = scenarios.map { scenario, matched in
            var o = JSONObject()
            o.string("name", scenario.name)
            o.number("start_s", scenario.startSeconds)
            o.number("end_s", scenario.endSeconds)  // null: until the run ends
            o.number("matched", Double(matched))
            return o.text
        }
        return "{\"producers\":[\(each.joined(separator: ","))],\"recorded\":\(recorded),\"sent\":\(sent),\"batches\":\(batches),"
            + "\"dropped\":{\(drops.joined(separator: ","))},\"rate\":\(rate),\"measured_seconds\":\(measuredSeconds),"
            + "\"total_seconds\":\(totalSeconds),\"started_us\":\(startedMicros),\"cpu_user_seconds\":\(cpuUser),\"cpu_system_seconds\":\(cpuSystem),"
            + "\"scenarios\":[\(scenarioJSON.joined(separator: ","))],\"silenced\":\(silenced),"
            + "\"verify\":\(verification ?? "null")}"
    }
}
