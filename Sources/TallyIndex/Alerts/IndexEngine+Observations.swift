import TallyWire

/// What each window tells the alert state machines (``AlertBook``).
extension IndexEngine {
    private var firing: Int { policy.alerts.firingAfterWindows }
    private var resolving: Int { policy.alerts.resolvedAfterWindows }

    private func observation(_ breach: Bool?, name: String, scope: String, severity: String, value: Double?, threshold: Double?,
                             light: Light, owner: String, action: String, summary: String,
                             firingAfter: Int? = nil, resolvedAfter: Int? = nil) -> AlertBook.Observation {
        AlertBook.Observation(
            breach: breach,
            alert: Alert(fingerprint: "", name: name, scope: scope, state: "", severity: severity,
                         value: value.flatMap { $0.isFinite ? $0 : nil }, threshold: threshold, light: light, owner: owner,
                         action: action, summary: summary, startsAtMicros: 0, endsAtMicros: nil),
            firingAfter: firingAfter ?? firing, resolvedAfter: resolvedAfter ?? resolving)
    }

    /// One observation per (KPI with a threshold that alerts, judged scope).
    func kpiObservations(_ scopes: ScopeMap) -> [AlertBook.Observation] {
        var result: [AlertBook.Observation] = []
        for (scope, aggregate) in scopes where isJudged(scope) && policy.alerts.kpiScopeKinds.contains(scope.kind) {
            for (kpi, threshold) in policy.thresholds where threshold.alertOn != nil && judges(kpi, in: scope) {
                let value = kpi.value(aggregate)
                let light = threshold.light(value, requests: sample(kpi, aggregate))
                let breach: Bool? = light == .insufficientData ? nil : threshold.breaches(light)
                let bound = threshold.boundary(for: light)
                let text = value.map { Self.format($0, kpi.unit) } ?? "–"
                result.append(observation(
                    breach, name: "kpi:\(kpi.rawValue)", scope: scope.id, severity: threshold.alertOn == .red ? "page" : "warning",
                    value: value, threshold: bound, light: light, owner: threshold.owner, action: threshold.action(light),
                    summary: "\(kpi.rawValue) \(text) in \(scope.id) (\(light.rawValue): \(threshold.higherIsWorse ? "above" : "below") \(Self.format(bound, kpi.unit)))"))
            }
        }
        return result
    }

    func driftObservations(_ reports: [DriftReport]) -> [AlertBook.Observation] {
        var result: [AlertBook.Observation] = []
        for report in reports {
            for metric in report.numeric {
                result.append(observation(
                    metric.light == .red, name: "drift:\(metric.metric)", scope: report.scope, severity: "ticket",
                    value: metric.psi, threshold: policy.drift.psi.red, light: metric.light, owner: "model-quality",
                    action: "compare with the baseline; check traffic mix, prompt and model changes",
                    summary: "\(metric.metric) drifted in \(report.scope): PSI \(Self.format(metric.psi, "")), KS \(Self.format(metric.ks, ""))"))
            }
            if let c = report.categorical {
                result.append(observation(
                    c.light == .red, name: "drift:category", scope: report.scope, severity: "ticket", value: c.psi,
                    threshold: policy.drift.psi.red, light: c.light, owner: "model-quality",
                    action: "the input mix changed: check routing and new use cases",
                    summary: "category mix drifted in \(report.scope): PSI \(Self.format(c.psi, "")), JS \(Self.format(c.jensenShannon, ""))"))
            }
            for o in report.outcomes {
                result.append(observation(
                    o.light == .red, name: "drift:\(o.kpi.rawValue)", scope: report.scope, severity: "ticket", value: o.current,
                    threshold: o.baseline, light: o.light, owner: "model-quality",
                    action: "outcome changed against the baseline: review recent model and prompt changes",
                    summary: "\(o.kpi.rawValue) \(Self.format(o.current, "ratio")) vs baseline \(Self.format(o.baseline, "ratio")) in \(report.scope)"))
            }
        }
        return result
    }

    func fairnessObservations(_ reports: [FairnessReport]) -> [AlertBook.Observation] {
        reports.map { r in
            observation(
                r.light == .insufficientData ? nil : r.light == .red, name: "fairness:\(r.kpi.rawValue)", scope: r.key,
                severity: "ticket", value: r.measure == "ratio" ? r.ratio : r.gap,
                threshold: policy.fairness.gaps[r.kpi]?.boundaries.red, light: r.light, owner: "responsible-ai",
                action: "investigate the gap for \(r.key)=\(r.worst ?? "?"): data, prompts and routing for that cohort",
                summary: "\(r.kpi.rawValue) gap across \(r.key): worst \(r.worst ?? "–"), best \(r.best ?? "–"), gap \(r.gap.map { Self.format($0, r.kpi.unit) } ?? "–")")
        }
    }

    func canaryObservations(_ verdicts: [CanaryVerdict]) -> [AlertBook.Observation] {
        verdicts.map { v in
            observation(
                v.verdict == .hold ? nil : v.verdict == .rollBack, name: "canary:roll_back", scope: "model=\(v.model),ring=canary",
                severity: "page", value: nil, threshold: nil, light: v.verdict == .rollBack ? .red : .green, owner: "release",
                action: "roll back the canary of \(v.model) (\(v.canaryVersions.joined(separator: ", ")))",
                summary: "canary of \(v.model): \(v.verdict.rawValue) — \(v.reason)")
        }
    }

    /// Multi-window burn rates: a rule breaches when both its spans burn faster than its rate.
    func burnObservations(_ scopes: ScopeMap, skipped: Int) -> [AlertBook.Observation] {
        var result: [AlertBook.Observation] = []
        for slo in policy.slos {
            let spans = slo.rules.flatMap { [$0.longWindows, $0.shortWindows] }
            var keys = Set(burn.keys.filter { $0.hasPrefix(slo.name + "|") })
            for scope in scopes.keys where slo.scopeKinds.contains(scope.kind) { keys.insert(slo.name + "|" + scope.id) }
            for key in keys.sorted() {
                let scopeID = String(key.dropFirst(slo.name.count + 1))
                var tracker = burn[key] ?? BurnRateTracker(spans: spans)
                for _ in 0..<min(skipped, spans.max() ?? 0) { tracker.add(bad: 0, total: 0) }
                let aggregate = scopes.first { $0.key.id == scopeID }?.value
                let bad = aggregate.map { a in slo.badStatuses.reduce(0) { $0 + a.status($1) } } ?? 0
                tracker.add(bad: bad, total: aggregate?.requests ?? 0)
                burn[key] = tracker
                for rule in slo.rules {
                    let long = tracker.burnRate(span: rule.longWindows, objective: slo.objective)
                    let short = tracker.burnRate(span: rule.shortWindows, objective: slo.objective)
                    // No judgement until the short span has filled: one window is not a burn rate.
                    let breach: Bool? = long == nil || short == nil || tracker.windows < rule.shortWindows ? nil
                        : long! > rule.burnRate && short! > rule.burnRate
                    result.append(observation(
                        breach, name: "slo:\(slo.name):\(rule.name)", scope: scopeID, severity: rule.severity, value: long,
                        threshold: rule.burnRate, light: breach == true ? .red : .green, owner: "sre",
                        action: rule.severity == "page" ? "the error budget burns fast: mitigate now" : "the error budget erodes: plan a fix",
                        summary: "\(slo.name) burn rate \(Self.format(long ?? 0, "")) over \(rule.longWindows) windows and \(Self.format(short ?? 0, "")) over \(rule.shortWindows) in \(scopeID) (limit \(Self.format(rule.burnRate, "")))",
                        firingAfter: 1, resolvedAfter: 1))
                }
            }
        }
        return result
    }

    /// `no_data` for watched scopes that reported steadily and then stopped.
    func noDataObservations(_ scopes: ScopeMap, skipped: Int) -> [AlertBook.Observation] {
        let settings = policy.alerts
        var result: [AlertBook.Observation] = []
        var watched = Set(noDataWatches.keys)
        for scope in scopes.keys where settings.noDataScopeKinds.contains(scope.kind) { watched.insert(scope) }
        for scope in watched.sorted() {
            var watch = noDataWatches[scope] ?? NoDataWatch()
            let requests = scopes[scope]?.requests ?? 0
            if requests > 0 {
                watch.recent.append(requests)
                if watch.recent.count > settings.noDataAfterWindows + 1 { watch.recent.removeFirst() }
                watch.missing = 0
            } else {
                watch.missing += 1 + skipped
            }
            // A scope that stops mid-window reports a partial last window (a few requests,
            // below the minimum when the outage starts early in it): the N windows before
            // that one establish the scope too, or the outage would go unreported.
            func steady(_ counts: ArraySlice<UInt64>) -> Bool {
                counts.count >= settings.noDataAfterWindows && counts.allSatisfy { $0 >= settings.noDataMinRequests }
            }
            let established = steady(watch.recent.suffix(settings.noDataAfterWindows))
                || steady(watch.recent.dropLast().suffix(settings.noDataAfterWindows))
            // Reporting is healthy whether or not the scope is established yet (INDEX.md).
            let breach: Bool? = watch.missing == 0 ? false
                : established && watch.missing >= settings.noDataAfterWindows ? true : nil
            if established || watch.missing == 0 {
                result.append(observation(
                    breach, name: "no_data", scope: scope.id, severity: "page", value: Double(watch.missing),
                    threshold: Double(settings.noDataAfterWindows), light: breach == true ? .red : .green, owner: "inference-platform",
                    action: "the scope stopped reporting: check the servers and their telemetry client",
                    summary: "\(scope.id) reported nothing for \(watch.missing) windows", firingAfter: 1, resolvedAfter: 1))
            }
            if watch.missing > 10 * settings.noDataAfterWindows + 100 { noDataWatches[scope] = nil } else { noDataWatches[scope] = watch }
        }
        return result
    }

    /// The sample a light needs: the rate's denominator for rates, requests otherwise.
    func sample(_ kpi: KPI, _ aggregate: ScopeAggregate) -> UInt64 {
        kpi.proportion(aggregate)?.total ?? aggregate.requests
    }

    /// Whether the policy judges this scope (its kind, or a cohort of its keys).
    func isJudged(_ scope: Scope) -> Bool {
        scope.kind == .cohort ? policy.cohortKeys.contains(scope.labels.first?.name ?? "") : policy.scopeKinds.contains(scope.kind)
    }

    /// Whether `kpi` is judged in `scope`: not in a cohort scope when it reads a quantile
    /// of a distribution the collectors keep there as a summary only (``summarizedInCohorts``;
    /// tallyd's `cohort_distributions`). Mean cost reads the cost digest's spread for its
    /// fairness test, so a cost summary leaves it out too.
    public func judges(_ kpi: KPI, in scope: Scope) -> Bool {
        scope.kind != .cohort || kpi.digest.isEmpty || !summarizedInCohorts.isSuperset(of: kpi.digest)
    }

    static func format(_ value: Double, _ unit: String) -> String { UnitFormat.text(value, unit: unit) }
}
