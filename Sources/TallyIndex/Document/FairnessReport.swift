/// The gap between cohorts of one key on one KPI (INDEX.md, "Fairness").
public struct FairnessReport: Sendable, Codable, Equatable {
    /// The cohort (tag) key, e.g. `lang`.
    public var key: String
    public var kpi: KPI
    /// `difference` (worst − best) or `ratio` (worst / best).
    public var measure: String
    /// Every cohort value with enough requests, best first.
    public var cohorts: [Cohort]
    public var best: String?
    public var worst: String?
    /// worst − best, in the KPI's unit (positive: worse).
    public var gap: Double?
    /// How many times worse the worst cohort is: worst / best (best / worst for KPIs where
    /// lower is worse); absent when the divisor is 0.
    public var ratio: Double?
    public var pValue: Double?
    /// Whether the best-to-worst difference is significant at the policy's alpha.
    public var significant: Bool
    /// From the gap's boundaries when significant; green when not; insufficient_data
    /// with fewer than two cohorts.
    public var light: Light
    /// What the test was: `two_proportion_z`, `tail_share_z` (latency: the share of each
    /// cohort's requests above the pooled quantile), `welch_z` (cost means).
    public var test: String

    enum CodingKeys: String, CodingKey {
        case key, kpi, measure, cohorts, best, worst, gap, ratio, significant, light, test
        case pValue = "p_value"
    }

    public struct Cohort: Sendable, Codable, Equatable {
        public var value: String
        public var kpiValue: Double
        public var requests: UInt64

        enum CodingKeys: String, CodingKey {
            case value, requests
            case kpiValue = "kpi_value"
        }
    }
}
