import TallyIndex

/// The index of a window for a terminal (tallyd's demo summary, `tally-tail --index`,
/// `tally-index`): the executive line, the red and yellow scopes, canary verdicts,
/// open alerts and this window's alert transitions. Lights in ANSI colour when
/// `colour` is set (a terminal), in words otherwise.
public enum IndexSummary {
    public static func text(_ document: IndexDocument, colour: Bool, limit: Int = 6) -> String {
        func paint(_ light: Light, _ text: String) -> String {
            guard colour else { return text }
            let code: String
            switch light {
            case .red: code = "31;1"
            case .yellow: code = "33"
            case .green: code = "32"
            case .insufficientData, .none: code = "90"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        func dot(_ light: Light) -> String { paint(light, colour ? "●" : "[\(light.rawValue)]") }
        let e = document.executive
        func percent(_ x: Double?) -> String { x.map { UnitFormat.fixed($0 * 100, 1) + " %" } ?? "–" }
        var lines: [String] = []
        let span = document.span == "window" ? "window" : "span \(document.span) (\(document.windows) windows)"
        lines.append("── index · \(span) \(SnapshotSummary.clock(document.startMicros))–\(SnapshotSummary.clock(document.endMicros)) UTC · "
                     + paint(e.overall, e.overall.rawValue.uppercased()) + " · \(e.action)")
        lines.append("quality \(percent(e.quality.value)) \(dot(e.quality.light))  cost/query "
                     + (e.costPerQuery.value.map { UnitFormat.text($0, unit: "usd") } ?? "–") + " \(dot(e.costPerQuery.light))"
                     + "  safety incidents \(Int(e.safetyIncidents.value ?? 0)) \(dot(e.safetyIncidents.light))"
                     + "  critical \(Int(e.criticalIncidents.value ?? 0)) \(dot(e.criticalIncidents.light))"
                     + "  latency SLO \(percent(e.latencySLOAttainment.value)) \(dot(e.latencySLOAttainment.light))"
                     + "  drift \(dot(e.drift))  alerts \(e.firingAlerts) firing / \(e.openAlerts) open  requests \(e.requests)")
        for light in [Light.red, .yellow] {
            let scopes = document.scopes.filter { $0.light == light }
            for scope in scopes.prefix(limit) {
                let kpis = scope.kpis.filter { $0.light == light }
                    .map { k in "\(k.kpi.rawValue) \(k.value.map { UnitFormat.text($0, unit: k.kpi.unit) } ?? "–")" }
                    .joined(separator: ", ")
                let action = scope.kpis.first { $0.light == light }?.action ?? ""
                lines.append("  " + paint(light, light.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0))
                             + " \(scope.scope): \(kpis) → \(action)")
            }
            if scopes.count > limit { lines.append("  \(paint(light, light.rawValue)) … and \(scopes.count - limit) more scopes") }
        }
        for verdict in document.canary {
            let light: Light = verdict.verdict == .rollBack ? .red : verdict.verdict == .hold ? .yellow : .green
            lines.append("  canary \(verdict.model): " + paint(light, verdict.verdict.rawValue.uppercased())
                         + " (stable \(verdict.stableRequests), canary \(verdict.canaryRequests) requests) \(verdict.reason)")
        }
        for alert in document.alerts.open where alert.state == "firing" {
            lines.append("  " + paint(.red, "FIRING") + " \(alert.name) \(alert.scope) since \(SnapshotSummary.clock(alert.startsAtMicros)): \(alert.summary) → \(alert.action)")
        }
        for event in document.alerts.events where event.state == "firing" || event.state == "resolved" {
            lines.append("  event " + paint(event.state == "firing" ? .red : .green, event.state) + " \(event.alert.name) \(event.alert.scope) [\(event.alert.fingerprint)]")
        }
        return lines.joined(separator: "\n")
    }
}
