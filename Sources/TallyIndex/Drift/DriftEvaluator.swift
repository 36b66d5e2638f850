import TallySketches
import TallyStatistics

/// Drift of a scope against its baseline, from sketches only (never raw rows):
/// Kolmogorov–Smirnov D, PSI over the baseline's quantile bins and Wasserstein-1 over
/// the baseline's standard deviation for each distribution; PSI, Jensen–Shannon
/// distance and chi-square for the category mix; two-proportion z-tests for the
/// outcome rates. A distance is judged only when it exceeds the noise floor that the
/// sample sizes and the digests' own rank error put under it (``DriftNoiseFloor``):
/// below it the metric is green whatever the boundaries say.
public enum DriftEvaluator {
    /// The distributions compared, by metric name.
    static let metrics = ["latency", "ttft", "input_tokens", "output_tokens", "cost"]

    static func digest(_ metric: String, _ a: ScopeAggregate) -> TDigest {
        switch metric {
        case "latency": a.totalLatency
        case "ttft": a.timeToFirstToken
        case "input_tokens": a.inputTokens
        case "output_tokens": a.outputTokens
        default: a.cost
        }
    }
    /// The outcome rates compared.
    static let outcomes: [KPI] = [.refusalRate, .taskSuccessRate, .positiveFeedbackShare]

    /// The report, or nil when either side has fewer than the policy's minimum requests.
    public static func report(scope: Scope, baseline: ScopeAggregate, current: ScopeAggregate, baselineKind: String,
                              settings: Policy.DriftSettings) -> DriftReport? {
        guard baseline.requests >= settings.minRequests, current.requests >= settings.minRequests else { return nil }
        var numeric: [DriftReport.NumericDrift] = []
        for metric in metrics {
            let b = digest(metric, baseline), c = digest(metric, current)
            guard !b.isEmpty, !c.isEmpty, let ks = DigestDrift.kolmogorovSmirnov(b, c),
                  let psi = DigestDrift.psi(b, c, bins: settings.bins) else { continue }
            let ksFloor = DriftNoiseFloor.ks(n: b.count, m: c.count)
            let psiFloor = DriftNoiseFloor.psi(bins: settings.bins, n: b.count, m: c.count)
            let w = DigestDrift.wassersteinNormalized(b, c)
            var light = Light.green
            if ks > ksFloor {
                light = max(light, settings.ks.light(ks))
                if let w { light = max(light, settings.wasserstein.light(w)) }
            }
            if psi > psiFloor { light = max(light, settings.psi.light(psi)) }
            numeric.append(.init(metric: metric, ks: ks, ksPValue: DigestDrift.ksPValue(d: ks, n: b.count, m: c.count),
                                 ksNoiseFloor: ksFloor, psi: psi, psiNoiseFloor: psiFloor,
                                 wasserstein: w.flatMap { $0.isFinite ? $0 : nil }, light: light))
        }
        var categorical: DriftReport.CategoricalDriftReport?
        let bc = histogram(baseline), cc = histogram(current)
        let bn = bc.values.reduce(0, +), cn = cc.values.reduce(0, +)
        if bn >= settings.minRequests, cn >= settings.minRequests, Set(bc.keys).union(cc.keys).count >= 2,
           let psi = CategoricalDrift.psi(expected: bc, actual: cc), let js = CategoricalDrift.jensenShannonDistance(bc, cc) {
            let chi = CategoricalDrift.chiSquare(bc, cc)
            let floor = DriftNoiseFloor.categoricalPSI(categories: Set(bc.keys).union(cc.keys).count, n: bn, m: cn)
            var light = Light.green
            if floor.isFinite, psi.isFinite, js.isFinite, psi > floor {
                light = max(settings.psi.light(psi), settings.jensenShannon.light(js))
            }
            categorical = .init(psi: psi, psiNoiseFloor: floor, jensenShannon: js, chiSquare: chi?.statistic,
                                chiSquarePValue: chi?.pValue, light: light)
        }
        var outcomeReports: [DriftReport.OutcomeDrift] = []
        for kpi in outcomes {
            guard let b = kpi.proportion(baseline), let c = kpi.proportion(current), b.total > 0, c.total > 0,
                  let test = ProportionTest.compare(successes: c.hits, of: c.total, versus: b.hits, of: b.total) else { continue }
            let change = abs(test.difference)
            var light = Light.green
            if test.pValue < settings.outcomeAlpha && change >= settings.outcomeMinEffect {
                light = change >= 3 * settings.outcomeMinEffect ? .red : .yellow
            }
            outcomeReports.append(.init(kpi: kpi, baseline: test.rateB, current: test.rateA, difference: test.difference,
                                        pValue: test.pValue, light: light))
        }
        let light = (numeric.map(\.light) + outcomeReports.map(\.light) + [categorical?.light ?? .green]).max() ?? .green
        return DriftReport(scope: scope.id, baseline: baselineKind, baselineRequests: baseline.requests,
                           requests: current.requests, light: light, numeric: numeric, categorical: categorical,
                           outcomes: outcomeReports)
    }

    /// The category histogram with the requests past the series' category cap as one more category (id 65535).
    static func histogram(_ a: ScopeAggregate) -> [UInt16: UInt64] {
        var h = a.categories
        if a.otherCategories > 0 { h[UInt16.max, default: 0] += a.otherCategories }
        return h
    }
}
