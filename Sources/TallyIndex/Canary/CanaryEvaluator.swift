import TallySketches
import TallyStatistics

/// Canary ring against the stable ring of the same model over the same window or
/// span, on the policy's canary KPIs:
/// - rates: canary − stable beyond `rate_tolerance`, one-sided two-proportion z-test
///   (Fisher's exact test when an expected count is below 5: rare events in a small
///   window, where the z-test would roll back on noise);
/// - latency quantiles: canary / stable beyond 1 + `relative_tolerance`, tested by the
///   share of each ring's requests above the quantile of both rings merged (one-sided
///   two-proportion z-test, ``TailShare``);
/// - mean cost: the ratio beyond tolerance, Welch z-test.
/// Significance is one-sided at `alpha` divided by the number of KPIs (Bonferroni: the
/// verdict is one decision over all of them).
/// Verdict: `roll_back` when any KPI regresses significantly beyond its tolerance;
/// `hold` when either ring has fewer than `min_requests` requests or a KPI is beyond
/// tolerance without significance yet; `promote` otherwise.
public enum CanaryEvaluator {
    public static let comparable: [KPI] = [
        .latencyP50, .latencyP95, .latencyP99, .ttftP50, .ttftP95, .queueP95, .tpotP50, .tpotP95,
        .errorRate, .timeoutRate, .rateLimitedRate, .refusalRate, .escalationRate, .fallbackRate, .taskSuccessRate,
        .positiveFeedbackShare, .safetyIncidentRate, .safetyHighRate, .safetyCriticalRate, .costPerRequestMean,
    ]

    /// One verdict per model that has both a stable and a canary scope in `scopes`.
    /// - Parameter versions: model → ring → versions seen (for the report).
    public static func verdicts(scopes: ScopeMap, versions: [String: [String: Set<String>]],
                                settings: Policy.CanarySettings) -> [CanaryVerdict] {
        var byModel: [String: (stable: ScopeAggregate?, canary: ScopeAggregate?)] = [:]
        for (scope, aggregate) in scopes where scope.kind == .modelRing {
            guard let model = scope.model, let ring = scope.labels.last?.value else { continue }
            if ring == "stable" { byModel[model, default: (nil, nil)].stable = aggregate }
            if ring == "canary" { byModel[model, default: (nil, nil)].canary = aggregate }
        }
        var result: [CanaryVerdict] = []
        for model in byModel.keys.sorted() {
            guard let stable = byModel[model]!.stable, let canary = byModel[model]!.canary else { continue }
            result.append(verdict(model: model, stable: stable, canary: canary,
                                  stableVersions: (versions[model]?["stable"] ?? []).sorted(),
                                  canaryVersions: (versions[model]?["canary"] ?? []).sorted(), settings: settings))
        }
        return result
    }

    public static func verdict(model: String, stable: ScopeAggregate, canary: ScopeAggregate, stableVersions: [String],
                               canaryVersions: [String], settings: Policy.CanarySettings) -> CanaryVerdict {
        let comparisons = settings.kpis.map { compare($0, stable: stable, canary: canary, settings: settings) }
        var verdict = CanaryVerdict(model: model, stableVersions: stableVersions, canaryVersions: canaryVersions,
                                    stableRequests: stable.requests, canaryRequests: canary.requests, verdict: .promote,
                                    decidedBy: [], reason: "", kpis: comparisons)
        let regressions = comparisons.filter(\.regression).map(\.kpi)
        let suspects = comparisons.filter(\.suspect).map(\.kpi)
        if stable.requests < settings.minRequests || canary.requests < settings.minRequests {
            verdict.verdict = .hold
            verdict.reason = "not enough requests (stable \(stable.requests), canary \(canary.requests); \(settings.minRequests) needed)"
        } else if !regressions.isEmpty {
            verdict.verdict = .rollBack
            verdict.decidedBy = regressions
            verdict.reason = "significant regression: " + regressions.map(\.rawValue).joined(separator: ", ")
        } else if !suspects.isEmpty {
            verdict.verdict = .hold
            verdict.decidedBy = suspects
            verdict.reason = "worse beyond tolerance, not yet significant: " + suspects.map(\.rawValue).joined(separator: ", ")
        } else {
            verdict.reason = "no KPI worse than stable beyond tolerance"
        }
        return verdict
    }

    static func compare(_ kpi: KPI, stable: ScopeAggregate, canary: ScopeAggregate,
                        settings: Policy.CanarySettings) -> CanaryVerdict.Comparison {
        let s = kpi.value(stable), c = kpi.value(canary)
        var comparison = CanaryVerdict.Comparison(kpi: kpi, stable: finite(s), canary: finite(c), delta: nil, ratio: nil,
                                                  pValue: nil, regression: false, suspect: false)
        guard let s, let c, s.isFinite, c.isFinite else { return comparison }
        comparison.delta = c - s
        comparison.ratio = s != 0 ? c / s : nil
        // How much worse the canary is, in the tolerance's terms.
        let worse = kpi.higherIsWorse ? c - s : s - c
        let beyond: Bool
        var p: Double?
        if kpi.isRate, let a = kpi.proportion(canary), let b = kpi.proportion(stable),
           let test = ProportionTest.compare(successes: a.hits, of: a.total, versus: b.hits, of: b.total) {
            beyond = worse > settings.rateTolerance
            p = test.oneSidedPValue(aHigher: kpi.higherIsWorse)
        } else if let (cd, q, _) = kpi.quantileSource(canary), let (sd, _, _) = kpi.quantileSource(stable),
                  let test = TailShare.test(cd, sd, quantile: q) {
            beyond = s > 0 && worse / s > settings.relativeTolerance
            p = test.oneSidedPValue(aHigher: true)
        } else if kpi == .costPerRequestMean, let two = WelchTest.pValue(canary.cost, stable.cost) {
            beyond = s > 0 && worse / s > settings.relativeTolerance
            p = worse > 0 ? two / 2 : 1 - two / 2
        } else {
            return comparison
        }
        comparison.pValue = p
        // Bonferroni over the KPIs compared: a verdict is one decision, not one per KPI.
        let significant = (p ?? 1) < settings.alpha / Double(max(1, settings.kpis.count))
        comparison.regression = beyond && significant
        comparison.suspect = beyond && !significant
        return comparison
    }

    static func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }
}
