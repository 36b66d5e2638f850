#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TallySketches

extension DigestDrift {
    /// The population stability index Σᵢ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) between expected (baseline)
    /// and actual shares of the same bins: a symmetric Kullback–Leibler divergence
    /// (Jeffreys'), ≥ 0, dimensionless. Common reading: < 0.1 stable, 0.1–0.25 some
    /// shift, > 0.25 a major shift.
    ///
    /// Shares below `epsilon` are raised to `epsilon` (not renormalized), so an empty
    /// bin on one side costs a large but finite amount instead of +∞.
    /// NaN when the vectors are empty or differ in length, a share is negative or NaN,
    /// or `epsilon` is not positive.
    public static func populationStabilityIndex(expected: [Double], actual: [Double],
                                                epsilon: Double = 1e-4) -> Double {
        guard !expected.isEmpty, expected.count == actual.count, epsilon > 0,
              (expected + actual).allSatisfy({ $0 >= 0 }) else { return .nan }
        return zip(expected, actual).reduce(0.0) { sum, pair in
            let e = Swift.max(pair.0, epsilon), a = Swift.max(pair.1, epsilon)
            return sum + (a - e) * log(a / e)
        }
    }

    /// The PSI of `current` against `baseline` over `bins` bins frozen at the baseline's
    /// quantiles (``QuantileBins/frozen(from:bins:)``), ε = 10⁻⁴. `nil` when either
    /// digest is empty or `bins` < 2. Compare with ``DriftNoiseFloor/psi(bins:n:m:rankError:)``.
    public static func psi(_ baseline: TDigest, _ current: TDigest, bins: Int = 10) -> Double? {
        guard !current.isEmpty, let frozen = QuantileBins.frozen(from: baseline, bins: bins) else { return nil }
        return populationStabilityIndex(expected: frozen.shares(of: baseline), actual: frozen.shares(of: current))
    }
}
