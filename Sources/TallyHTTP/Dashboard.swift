import Foundation
import TallyIndex

/// The dashboard (`GET /`) and the view of one scope (`GET /scope?id=…`): server-rendered
/// HTML, no script framework, refreshed every window by `<meta http-equiv=refresh>`.
/// Every light carries `data-light` (and the elements tests look for carry ids).
enum Dashboard {
    static let pageSize = 50
    /// The KPIs of the breakdown table's columns.
    static let columns: [KPI] = [.latencyP95, .ttftP95, .errorRate, .refusalRate, .safetyIncidentRate,
                                 .costPerRequestMean, .taskSuccessRate]

    static let htmlEscapes: [Unicode.Scalar: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]

    static func escape(_ text: String) -> String { ExpositionFormat.replacing(text, htmlEscapes) }

    static func url(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    static func format(_ value: Double?, _ unit: String) -> String {
        guard let value else { return "–" }
        return UnitFormat.text(value, unit: unit)
    }

    static func time(_ micros: UInt64) -> String {
        let date = Date(timeIntervalSince1970: Double(micros) / 1e6)
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.string(from: date)
    }

    static func head(_ title: String, refresh: Int) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="refresh" content="\(refresh)">
        <link rel="icon" href="data:,">
        <title>\(escape(title))</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:1em 2em;color:#222}
        h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em;border-bottom:1px solid #ccc}
        .indicators{display:flex;flex-wrap:wrap;gap:.6em}
        .ind{border:1px solid #ccc;border-left:8px solid #999;padding:.4em .8em;min-width:11em}
        .ind .name{display:block;font-size:.85em;color:#555}.ind .value{font-size:1.3em;font-weight:600}
        .ind .action{display:block;font-size:.8em;color:#444;max-width:22em}
        [data-light=green]{border-left-color:#2a9d2a}[data-light=yellow]{border-left-color:#e0b000}
        [data-light=red]{border-left-color:#d22}[data-light=insufficient_data]{border-left-color:#999}
        td[data-light=green]{background:#e3f6e3}td[data-light=yellow]{background:#fff4c2}td[data-light=red]{background:#ffd9d9}
        td[data-light=insufficient_data]{background:#eee;color:#777}
        table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}
        td:first-child,th:first-child,td.action{text-align:left}td.action{font-size:.85em;max-width:28em}
        .dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;background:#999}
        .dot[data-light=green]{background:#2a9d2a}.dot[data-light=yellow]{background:#e0b000}.dot[data-light=red]{background:#d22}
        nav a{margin-right:.8em}.charts{display:flex;flex-wrap:wrap;gap:1em}
        .chart{border:1px solid #ddd}.chart text{font-size:10px}
        </style></head><body>

        """
    }

    static func refreshSeconds(_ view: WebStore.View) -> Int {
        guard let last = view.windows.last else { return 2 }
        return max(2, Int((last.endMicros - last.startMicros) / 1_000_000))
    }

    static func indicator(_ id: String, _ name: String, _ value: String, _ light: Light, _ action: String?) -> String {
        var out = "<div class=\"ind\" id=\"\(id)\" data-light=\"\(light.rawValue)\"><span class=\"name\">\(escape(name))</span>"
        out += "<span class=\"value\">\(escape(value))</span>"
        if let action, !action.isEmpty { out += "<span class=\"action\">\(escape(action))</span>" }
        return out + "</div>\n"
    }

    static func page(_ request: WebRequest, _ view: WebStore.View, policy: Policy?, collectorID: String) -> WebResponse {
        var html = head("Tally · \(collectorID)", refresh: refreshSeconds(view))
        guard let window = view.windows.last else {
            html += "<h1>Tally · \(escape(collectorID))</h1><p id=\"waiting\">No window evaluated yet.</p></body></html>\n"
            return .html(html)
        }
        let e = window.executive
        html += "<h1 id=\"title\">Tally · \(escape(window.collector)) · window \(time(window.startMicros))–\(time(window.endMicros)) UTC · \(e.requests) requests</h1>\n"
        // Executive layer.
        html += "<section id=\"executive\"><h2>Executive</h2><div class=\"indicators\">\n"
        html += indicator("exec-overall", "Overall", e.overall.rawValue.uppercased(), e.overall, e.action)
        html += indicator("exec-quality", "Quality (task success)", format(e.quality.value, "ratio"), e.quality.light, e.quality.action)
        html += indicator("exec-cost", "Cost per query", format(e.costPerQuery.value, "usd"), e.costPerQuery.light, e.costPerQuery.action)
        html += indicator("exec-safety", "Safety incidents", format(e.safetyIncidents.value, "count"), e.safetyIncidents.light,
                          e.safetyIncidents.action)
        html += indicator("exec-critical", "Critical incidents", format(e.criticalIncidents.value, "count"), e.criticalIncidents.light,
                          e.criticalIncidents.action)
        html += indicator("exec-latency-slo", "Latency SLO attainment", format(e.latencySLOAttainment.value, "ratio"),
                          e.latencySLOAttainment.light, e.latencySLOAttainment.action)
        html += indicator("exec-drift", "Drift", e.drift.rawValue, e.drift, nil)
        let alertsLight: Light = e.firingAlerts > 0 ? .red : e.openAlerts > 0 ? .yellow : .green
        html += indicator("exec-alerts", "Open alerts", "\(e.openAlerts) (\(e.firingAlerts) firing)", alertsLight, nil)
        html += "</div><p id=\"exec-action\" data-light=\"\(e.overall.rawValue)\"><b>Action:</b> \(escape(e.action))</p></section>\n"
        html += alertsSection(window)
        html += breakdown(request, window)
        html += canary(window)
        html += fairness(window)
        html += drift(window)
        html += budget(view.snapshot)
        html += trends(view, policy: policy)
        html += "<p><small>JSON: <a href=\"/api/v1/index\">/api/v1/index</a> · <a href=\"/api/v1/openapi.json\">OpenAPI</a> · <a href=\"/metrics\">/metrics</a></small></p>\n</body></html>\n"
        return .html(html)
    }

    /// A section with a table (or `empty` when there are no rows).
    static func section(_ id: String, _ title: String, empty: String, headers: [String], rows: [String]) -> String {
        var html = "<section id=\"\(id)\"><h2>\(escape(title))</h2>\n"
        if rows.isEmpty { return html + "<p>\(escape(empty))</p></section>\n" }
        html += "<table><tr>" + headers.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        return html + rows.joined() + "</table></section>\n"
    }

    /// A cell showing a light by name.
    static func lightCell(_ light: Light, _ text: String? = nil) -> String {
        "<td data-light=\"\(light.rawValue)\">\(escape(text ?? light.rawValue))</td>"
    }

    static func alertsSection(_ window: IndexDocument) -> String {
        let rows = window.alerts.open.map { alert in
            "<tr id=\"alert-\(alert.fingerprint)\" data-light=\"\(alert.light.rawValue)\"><td>\(escape(alert.name))</td>"
                + "<td><a href=\"/scope?id=\(url(alert.scope))\">\(escape(alert.scope))</a></td><td>\(escape(alert.state))</td>"
                + "<td>\(escape(alert.severity))</td><td>\(time(alert.startsAtMicros))</td><td>\(escape(alert.summary))</td><td>\(escape(alert.action))</td></tr>\n"
        }
        return section("alerts", "Open alerts", empty: "None.",
                       headers: ["alert", "scope", "state", "severity", "since", "summary", "action"], rows: rows)
    }

    static func breakdown(_ request: WebRequest, _ window: IndexDocument) -> String {
        let kinds = Scope.Kind.allCases.map(\.rawValue).filter { kind in window.scopes.contains { $0.kind == kind } }
        let kind = request.query["kind"].flatMap { kinds.contains($0) ? $0 : nil } ?? (kinds.contains("model") ? "model" : kinds.first ?? "fleet")
        let rows = API.filter(window, kind: kind, light: nil)
        let pages = max(1, (rows.count + pageSize - 1) / pageSize)
        let page = min(max(1, Int(request.query["page"] ?? "") ?? 1), pages)
        var html = "<section id=\"breakdown\" data-kind=\"\(escape(kind))\"><h2>Breakdown by \(escape(kind))</h2>\n<nav>"
        for k in kinds { html += "<a href=\"/?kind=\(url(k))\"\(k == kind ? " aria-current=\"page\"" : "")>\(escape(k))</a>" }
        html += "</nav>\n<table id=\"breakdown-table\"><tr><th>scope</th><th>requests</th><th>light</th>"
        for kpi in columns { html += "<th>\(kpi.rawValue)</th>" }
        html += "<th>action</th></tr>\n"
        for scope in rows.dropFirst((page - 1) * pageSize).prefix(pageSize) {
            html += "<tr data-scope=\"\(escape(scope.scope))\"><td><a href=\"/scope?id=\(url(scope.scope))\">\(escape(scope.scope))</a></td>"
            html += "<td>\(scope.requests)</td><td data-light=\"\(scope.light.rawValue)\"><span class=\"dot\" data-light=\"\(scope.light.rawValue)\"></span> \(scope.light.rawValue)</td>"
            for kpi in columns {
                let report = scope.kpis.first { $0.kpi == kpi }
                let light = report?.light ?? Light.none
                html += "<td data-light=\"\(light.rawValue)\" data-kpi=\"\(kpi.rawValue)\" title=\"\(escape(report?.action ?? ""))\">\(format(report?.value, kpi.unit))</td>"
            }
            // The scope's action: that of its worst KPI (the one that sets the scope's light).
            let worst = scope.kpis.first { $0.light == scope.light && $0.action != nil }
            let action = worst.map { "\($0.kpi.rawValue): \($0.action!)" } ?? ""
            html += "<td class=\"action\" data-light=\"\(scope.light.rawValue)\">\(escape(action))</td></tr>\n"
        }
        html += "</table>\n<p id=\"breakdown-pages\">page \(page) of \(pages) (\(rows.count) scopes)"
        if page > 1 { html += " · <a id=\"page-prev\" href=\"/?kind=\(url(kind))&amp;page=\(page - 1)\">previous</a>" }
        if page < pages { html += " · <a id=\"page-next\" href=\"/?kind=\(url(kind))&amp;page=\(page + 1)\">next</a>" }
        return html + "</p></section>\n"
    }

    static func verdictLight(_ decision: CanaryVerdict.Decision) -> Light {
        switch decision {
        case .promote: .green
        case .hold: .yellow
        case .rollBack: .red
        }
    }

    static func canary(_ window: IndexDocument) -> String {
        let rows = window.canary.map { verdict in
            let light = verdictLight(verdict.verdict)
            let shown = verdict.kpis.filter { $0.regression || $0.suspect || verdict.decidedBy.contains($0.kpi) }
            let behind = shown.isEmpty ? "–" : shown.map { c in
                "\(c.kpi.rawValue): \(format(c.stable, c.kpi.unit)) → \(format(c.canary, c.kpi.unit))\(c.regression ? " (regression)" : c.suspect ? " (suspect)" : "")"
            }.map(escape).joined(separator: "<br>")
            return "<tr id=\"canary-\(escape(verdict.model))\" class=\"canary-verdict\" data-verdict=\"\(verdict.verdict.rawValue)\" data-light=\"\(light.rawValue)\">"
                + "<td>\(escape(verdict.model))</td>" + lightCell(light, verdict.verdict.rawValue.uppercased())
                + "<td>\(verdict.stableRequests) / \(verdict.canaryRequests)</td><td>\(escape(verdict.reason))</td><td>\(behind)</td></tr>\n"
        }
        return section("canary", "Canary verdicts", empty: "No model with both a stable and a canary ring.",
                       headers: ["model", "verdict", "stable / canary requests", "reason", "KPIs behind it"], rows: rows)
    }

    static func fairness(_ window: IndexDocument) -> String {
        let rows = window.fairness.map { report in
            "<tr id=\"fairness-\(escape(report.key))-\(report.kpi.rawValue)\" data-light=\"\(report.light.rawValue)\"><td>\(escape(report.key))</td>"
                + "<td>\(report.kpi.rawValue)</td><td>\(escape(report.worst ?? "–"))</td><td>\(escape(report.best ?? "–"))</td>"
                + "<td>\(format(report.gap, report.kpi.unit))</td><td>\(report.significant ? "yes" : "no")</td>" + lightCell(report.light) + "</tr>\n"
        }
        return section("fairness", "Fairness by cohort", empty: "No cohort key configured.",
                       headers: ["key", "KPI", "worst cohort", "best", "gap", "significant", "light"], rows: rows)
    }

    static func drift(_ window: IndexDocument) -> String {
        let rows = window.drift.map { report in
            let worst = report.numeric.max { $0.light < $1.light }
                .map { "\($0.metric): KS \(UnitFormat.fixed($0.ks, 3)), PSI \(UnitFormat.fixed($0.psi, 3))" } ?? "–"
            return "<tr id=\"drift-\(escape(report.scope))\" data-light=\"\(report.light.rawValue)\"><td>\(escape(report.scope))</td>"
                + "<td>\(escape(report.baseline))</td>" + lightCell(report.light) + "<td>\(escape(worst))</td></tr>\n"
        }
        return section("drift", "Drift", empty: "No baseline yet.", headers: ["scope", "baseline", "light", "worst metric"], rows: rows)
    }

    /// Line charts of the held windows for one scope (the fleet by default).
    static func trends(_ view: WebStore.View, policy: Policy?, scope: String = "fleet") -> String {
        func series(_ kpi: KPI) -> [Double?] {
            view.windows.map { window in window.scopes.first { $0.scope == scope }?.kpis.first { $0.kpi == kpi }?.value }
        }
        func thresholds(_ kpi: KPI) -> [(value: Double, light: Light)] {
            guard let t = policy?.thresholds[kpi] else { return [] }
            return [(value: t.green, light: .yellow), (value: t.yellow, light: .red)]
        }
        var html = "<section id=\"trends\"><h2>Trends (\(view.windows.count) windows, \(escape(scope)))</h2><div class=\"charts\">\n"
        html += SVGChart.render(id: "chart-latency", title: "latency p50 / p95 / p99 (s)",
                                lines: [("p50", series(.latencyP50)), ("p95", series(.latencyP95)), ("p99", series(.latencyP99))],
                                thresholds: thresholds(.latencyP95))
        html += SVGChart.render(id: "chart-errors", title: "error and refusal rate",
                                lines: [("errors", series(.errorRate)), ("refusals", series(.refusalRate))],
                                thresholds: thresholds(.errorRate))
        html += SVGChart.render(id: "chart-cost", title: "cost per query (USD)", lines: [("cost", series(.costPerRequestMean))],
                                thresholds: thresholds(.costPerRequestMean))
        html += SVGChart.render(id: "chart-requests", title: "requests per window", lines: [("requests", series(.requests))],
                                thresholds: [])
        return html + "</div></section>\n"
    }

    static func scopePage(_ request: WebRequest, _ view: WebStore.View, policy: Policy?) -> WebResponse {
        guard let id = request.query["id"], !id.isEmpty else { return .badParameter("id", "id (a scope id, e.g. model=alpha) is required") }
        guard let window = view.windows.last else { return .text(503, "not ready: no window evaluated yet\n") }
        guard let scope = window.scopes.first(where: { $0.scope == id }) else {
            return .text(404, "scope \(id) is not in the newest window\n")
        }
        var html = head("Tally · \(id)", refresh: refreshSeconds(view))
        html += "<h1 id=\"title\"><a href=\"/\">Tally</a> · \(escape(id)) <span class=\"dot\" id=\"scope-light\" data-light=\"\(scope.light.rawValue)\"></span> \(scope.light.rawValue)</h1>\n"
        html += "<p>kind \(escape(scope.kind)) · \(scope.requests) requests in window \(time(window.startMicros))–\(time(window.endMicros)) UTC</p>\n"
        html += "<table id=\"scope-kpis\"><tr><th>KPI</th><th>value</th><th>light</th><th>action</th></tr>\n"
        for report in scope.kpis {
            html += "<tr id=\"kpi-\(report.kpi.rawValue)\" data-light=\"\(report.light.rawValue)\"><td>\(report.kpi.rawValue)</td>"
            html += "<td>\(format(report.value, report.kpi.unit))</td><td data-light=\"\(report.light.rawValue)\">\(report.light.rawValue)</td>"
            html += "<td>\(escape(report.action ?? ""))</td></tr>\n"
        }
        html += "</table>\n"
        let alerts = window.alerts.open.filter { $0.scope == id }
        if !alerts.isEmpty {
            html += "<h2>Open alerts</h2><ul id=\"scope-alerts\">"
            for alert in alerts { html += "<li data-light=\"\(alert.light.rawValue)\">\(escape(alert.name)) (\(escape(alert.state))): \(escape(alert.summary))</li>" }
            html += "</ul>\n"
        }
        html += trends(view, policy: policy, scope: id)
        return .html(html + "</body></html>\n")
    }
}
