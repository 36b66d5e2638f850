import TallySketches
import TallyStatistics

/// Gaps between the cohorts of one tag key (e.g. every `lang=…` scope) on the KPIs
/// that can be compared: the value per cohort with enough requests, the best and the
/// worst, the gap (difference or ratio), and whether it is significant:
/// - rates: a two-proportion z-test between the best and the worst cohort;
/// - latency p95: the share of each cohort's requests above the pooled p95 of both,
///   compared with a two-proportion z-test (a tail-share test: a cohort whose p95 is
///   really higher has more than 5 % of its requests above the pooled p95);
/// - mean cost: a Welch z-test, standard deviations from the digests' centroids.
public enum FairnessEvaluator {
    public static let comparable: [KPI] = [
        .errorRate, .refusalRate, .escalationRate, .safetyIncidentRate, .taskSuccessRate, .positiveFeedbackShare,
        .latencyP95, .costPerRequestMean,
    ]

    public static func reports(scopes: ScopeMap, policy: Policy) -> [FairnessReport] {
        var result: [FairnessReport] = []
        for key in policy.fairnessKeys {
            let cohorts = scopes.filter { $0.key.kind == .cohort && $0.key.labels.first?.name == key }
                .filter { $0.value.requests >= policy.fairness.minRequests }
                .sorted { $0.key.id < $1.key.id }
            for kpi in comparable {
                guard let gap = policy.fairness.gaps[kpi] else { continue }
                result.append(report(key: key, kpi: kpi, gap: gap, cohorts: cohorts.map { ($0.key.labels[0].value, $0.value) },
                                     alpha: policy.fairness.alpha))
            }
        }
        return result
    }

    static func report(key: String, kpi: KPI, gap: Policy.FairnessSettings.Gap, cohorts: [(String, ScopeAggregate)],
                       alpha: Double) -> FairnessReport {
        var valued: [(name: String, value: Double, aggregate: ScopeAggregate)] = []
        for (name, aggregate) in cohorts {
            if let v = kpi.value(aggregate), v.isFinite { valued.append((name, v, aggregate)) }
        }
        // Best first.
        valued.sort { kpi.higherIsWorse ? ($0.value, $0.name) < ($1.value, $1.name) : ($0.value, $1.name) > ($1.value, $0.name) }
        var report = FairnessReport(
            key: key, kpi: kpi, measure: gap.ratio ? "ratio" : "difference",
            cohorts: valued.map { .init(value: $0.name, kpiValue: $0.value, requests: $0.aggregate.requests) },
            best: nil, worst: nil, gap: nil, ratio: nil, pValue: nil, significant: false, light: .insufficientData,
            test: kpi.isRate ? "two_proportion_z"
                : kpi == .costPerRequestMean ? "welch_z" : "tail_share_z")
        guard valued.count >= 2, let best = valued.first, let worst = valued.last else { return report }
        report.best = best.name
        report.worst = worst.name
        let difference = abs(worst.value - best.value)
        report.gap = difference
        // How many times worse the worst cohort is: worst / best, or best / worst when lower is worse.
        if kpi.higherIsWorse {
            report.ratio = best.value != 0 ? worst.value / best.value : nil
        } else {
            report.ratio = worst.value != 0 ? best.value / worst.value : nil
        }
        report.pValue = pValue(kpi, worse: worst.aggregate, better: best.aggregate)
        report.significant = (report.pValue ?? 1) < alpha
        let measured = gap.ratio ? (report.ratio ?? .infinity) : difference
        report.light = report.significant ? gap.boundaries.light(measured) : .green
        return report
    }

    /// Two-sided p-value that `worse` and `better` differ on `kpi`; nil when it cannot be tested.
    static func pValue(_ kpi: KPI, worse: ScopeAggregate, better: ScopeAggregate) -> Double? {
        if let a = kpi.proportion(worse), let b = kpi.proportion(better) {
            return ProportionTest.compare(successes: a.hits, of: a.total, versus: b.hits, of: b.total)?.pValue
        }
        if let (digest, q, _) = kpi.quantileSource(worse), let (other, _, _) = kpi.quantileSource(better) {
            return TailShare.test(digest, other, quantile: q)?.pValue
        }
        if kpi == .costPerRequestMean { return WelchTest.pValue(worse.cost, better.cost) }
        return nil
    }
}

/// The tail-share test of a quantile difference: the pooled `quantile` of both digests
/// is the cut; each side's share above it is compared with a two-proportion z-test.
enum TailShare {
    static func test(_ a: TDigest, _ b: TDigest, quantile q: Double) -> ProportionTest? {
        guard !a.isEmpty, !b.isEmpty, let pooled = try? TDigest.merged([a, b]) else { return nil }
        let cut = pooled.quantile(q)
        let hitsA = UInt64((Double(a.count) * (1 - a.cdf(cut))).rounded())
        let hitsB = UInt64((Double(b.count) * (1 - b.cdf(cut))).rounded())
        return ProportionTest.compare(successes: hitsA, of: a.count, versus: hitsB, of: b.count)
    }
}

/// Welch's z-test of two means (large samples), standard deviations from the digests.
enum WelchTest {
    /// Two-sided p-value; nil when a side is empty or both deviations are 0.
    static func pValue(_ a: TDigest, _ b: TDigest) -> Double? {
        guard a.count > 1, b.count > 1, let sa = DigestDrift.standardDeviation(a), let sb = DigestDrift.standardDeviation(b) else {
            return nil
        }
        let se = (sa * sa / Double(a.count) + sb * sb / Double(b.count)).squareRoot()
        guard se > 0 else { return nil }
        return StandardNormal.twoSidedPValue(z: (a.mean - b.mean) / se)
    }
}
