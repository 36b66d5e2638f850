import TallyCore

/// Assembling the layered document of a window or span.
extension IndexEngine {
    func document(span: String, scopes: ScopeMap, start: UInt64, end: UInt64, windows: Int, drift: [DriftReport],
                  fairness: [FairnessReport], canary: [CanaryVerdict], events: [AlertEvent],
                  heavyHitters: SliceHeavyHitters?) -> IndexDocument {
        var reports: [IndexDocument.ScopeReport] = []
        for (scope, aggregate) in scopes.sorted(by: { $0.key < $1.key }) where isJudged(scope) || scope.kind == .fleet {
            reports.append(scopeReport(scope, aggregate))
        }
        let open = openAlerts
        let fleet = scopes[.fleet]
        let fleetReport = reports.first { $0.scope == "fleet" }
        func indicator(_ kpi: KPI) -> IndexDocument.Indicator {
            let report = fleetReport?.kpis.first { $0.kpi == kpi }
            return .init(value: report?.value, light: report?.light ?? .insufficientData, action: report?.action)
        }
        var attainment = IndexDocument.Indicator(value: nil, light: .insufficientData)
        if let fleet, !fleet.totalLatency.isEmpty {
            let bound = policy.thresholds[.latencyP95]?.green ?? 2.5
            attainment = .init(value: fleet.totalLatency.cdf(bound * 1e6), light: indicator(.latencyP95).light,
                               action: indicator(.latencyP95).action)
        }
        var safety = indicator(.safetyIncidentRate)
        safety.value = fleet.map { Double($0.safetyIncidents) }
        let driftLight = drift.map(\.light).max() ?? .insufficientData
        var overall = fleetReport?.light ?? .insufficientData
        if open.contains(where: { $0.state == "firing" }) { overall = .red }
        overall = max(overall, drift.map(\.light).max() ?? .green, fairness.map(\.light).filter { $0 != .insufficientData }.max() ?? .green)
        if canary.contains(where: { $0.verdict == .rollBack }) { overall = .red }
        var counts: [String: Int] = [:]
        for report in reports { counts[report.light.rawValue, default: 0] += 1 }
        let executive = IndexDocument.Executive(
            overall: overall, action: overallAction(overall, open: open, canary: canary), requests: fleet?.requests ?? 0,
            quality: indicator(.taskSuccessRate), costPerQuery: indicator(.costPerRequestMean), safetyIncidents: safety,
            criticalIncidents: indicator(.criticalIncidents), latencySLOAttainment: attainment, drift: driftLight,
            openAlerts: open.count, firingAlerts: open.filter { $0.state == "firing" }.count, scopeLights: counts)
        return IndexDocument(collector: collectorID, span: span, startMicros: start, endMicros: end, windows: windows,
                             executive: executive, scopes: reports, alerts: .init(open: open, events: events),
                             drift: drift, fairness: fairness, canary: canary, budget: heavyHitters.map(BudgetReport.init))
    }

    func scopeReport(_ scope: Scope, _ aggregate: ScopeAggregate) -> IndexDocument.ScopeReport {
        var kpis: [IndexDocument.KPIReport] = []
        for kpi in KPI.allCases {
            guard judges(kpi, in: scope) else {  // a summarized cohort distribution: no quantiles to show
                kpis.append(.init(kpi: kpi, value: nil, light: .none, action: nil))
                continue
            }
            let value = kpi.value(aggregate)
            guard let threshold = policy.thresholds[kpi] else {
                kpis.append(.init(kpi: kpi, value: value, light: .none, action: nil))
                continue
            }
            let light = threshold.light(value, requests: sample(kpi, aggregate))
            kpis.append(.init(kpi: kpi, value: value, light: light,
                              action: light == .green ? nil : threshold.action(light)))
        }
        var labels: [String: String] = [:]
        for label in scope.labels { labels[label.name] = label.value }
        return .init(scope: scope.id, kind: scope.kind.rawValue, labels: labels, requests: aggregate.requests,
                     light: Self.scopeLight(kpis.map(\.light)), kpis: kpis)
    }

    /// A scope's light: the worst of its judged KPIs (green, yellow, red); insufficient
    /// data only when no KPI could be judged (a scope is not grey because its p99 needs
    /// more requests than its p95); none when no KPI has a threshold.
    static func scopeLight(_ lights: [Light]) -> Light {
        let judged = lights.filter { $0 == .green || $0 == .yellow || $0 == .red }
        if let worst = judged.max() { return worst }
        return lights.contains(.insufficientData) ? .insufficientData : .none
    }

    /// The executive layer's one-line instruction.
    func overallAction(_ light: Light, open: [Alert], canary: [CanaryVerdict]) -> String {
        if let rollback = canary.first(where: { $0.verdict == .rollBack }) {
            return "roll back the canary of \(rollback.model): \(rollback.reason)"
        }
        if let alert = open.first(where: { $0.state == "firing" && $0.severity == "page" }) ?? open.first(where: { $0.state == "firing" }) {
            return "\(alert.action) (\(alert.summary))"
        }
        return light.defaultAction
    }
}
