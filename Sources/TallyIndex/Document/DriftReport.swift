/// Drift of one scope against its baseline (INDEX.md, "Drift").
public struct DriftReport: Sendable, Codable, Equatable {
    public var scope: String
    /// `first`, `previous`, `pinned`.
    public var baseline: String
    public var baselineRequests: UInt64
    public var requests: UInt64
    /// The worst light of its metrics (green when nothing exceeds its noise floor).
    public var light: Light
    public var numeric: [NumericDrift]
    public var categorical: CategoricalDriftReport?
    public var outcomes: [OutcomeDrift]

    enum CodingKeys: String, CodingKey {
        case scope, baseline, requests, light, numeric, categorical, outcomes
        case baselineRequests = "baseline_requests"
    }

    /// One distribution (latency, ttft, input_tokens, output_tokens, cost) against the baseline's.
    public struct NumericDrift: Sendable, Codable, Equatable {
        public var metric: String
        public var ks: Double
        public var ksPValue: Double
        public var ksNoiseFloor: Double
        public var psi: Double
        public var psiNoiseFloor: Double
        /// Wasserstein-1 over the baseline's standard deviation; absent when that is 0.
        public var wasserstein: Double?
        public var light: Light

        enum CodingKeys: String, CodingKey {
            case metric, ks, psi, wasserstein, light
            case ksPValue = "ks_p_value"
            case ksNoiseFloor = "ks_noise_floor"
            case psiNoiseFloor = "psi_noise_floor"
        }
    }

    /// The category histogram against the baseline's.
    public struct CategoricalDriftReport: Sendable, Codable, Equatable {
        public var psi: Double
        public var psiNoiseFloor: Double
        public var jensenShannon: Double
        public var chiSquare: Double?
        public var chiSquarePValue: Double?
        public var light: Light

        enum CodingKeys: String, CodingKey {
            case psi, light
            case psiNoiseFloor = "psi_noise_floor"
            case jensenShannon = "jensen_shannon"
            case chiSquare = "chi_square"
            case chiSquarePValue = "chi_square_p_value"
        }
    }

    /// A rate against the baseline's, with a two-proportion z-test.
    public struct OutcomeDrift: Sendable, Codable, Equatable {
        public var kpi: KPI
        public var baseline: Double
        public var current: Double
        public var difference: Double
        public var pValue: Double
        public var light: Light

        enum CodingKeys: String, CodingKey {
            case kpi, baseline, current, difference, light
            case pValue = "p_value"
        }
    }
}
