#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The smallest drift the sketches and sample sizes can support: two windows drawn
/// from one unchanged distribution show distances up to these values from sampling
/// noise and sketch error alone, so the index never raises drift below them.
///
/// Each floor is a high quantile (by default 99 %) of the distance under "no change",
/// plus, for digests, a bound on what their rank error adds. n and m are the two
/// windows' counts. A side with no values supports no judgement: the floor is +∞.
public enum DriftNoiseFloor {
    /// Worst rank error of one per-series digest, as a fraction of the count.
    ///
    /// The per-series digests use compression 100 (TallyCore `SketchParameters`), whose
    /// measured worst rank error over q = .5 … .9999 is 2,858 ppm, at q = .9 after
    /// merging 100 digests (Benchmarks/README.md, "Aggregation core":
    /// `tally-sketch accuracy --compression 100 --buffer 248 --trials 1`; 1,377 ppm
    /// unmerged). Rounded up to 0.003.
    public static let digestRankError = 0.003

    /// The floor for ``DigestDrift/kolmogorovSmirnov(_:_:)``:
    ///
    ///     c(α)·√((n + m)/(n·m)) + 2·rankError,   c(α) = √(−ln(α/2)/2)
    ///
    /// the two-sample KS critical value at level `alpha` (asymptotic, Smirnov), plus
    /// the rank error of each digest (a CDF off by at most rankError on each side).
    /// n = m = 1,000: 0.0788; n = m = 10,000: 0.0290 (α = 0.01, rankError = 0.003).
    /// +∞ when n or m is 0; NaN when `alpha` is not in (0, 1) or `rankError` < 0.
    public static func ks(n: UInt64, m: UInt64, rankError: Double = DriftNoiseFloor.digestRankError,
                          alpha: Double = 0.01) -> Double {
        guard alpha > 0, alpha < 1, rankError >= 0 else { return .nan }
        guard let sampling = inverseSizes(n, m) else { return .infinity }
        return (-log(alpha / 2) / 2).squareRoot() * sampling.squareRoot() + 2 * rankError
    }

    /// The floor for ``DigestDrift/psi(_:_:bins:)`` over `bins` frozen quantile bins:
    ///
    ///     χ²₀.₉₉(bins − 1)·(1/n + 1/m) + bins²·(2·rankError)²
    ///
    /// Sampling: between two samples of one distribution, PSI is asymptotically
    /// (1/n + 1/m)·χ²(bins − 1), with mean (bins − 1)(1/n + 1/m) (B. Yurdakul,
    /// "Statistical properties of the population stability index", PhD thesis,
    /// Western Michigan University, 2018); its 99th percentile is used. Sketch:
    /// an edge off by at most rankError in rank moves a share by at most 2·rankError
    /// (both of its edges), and a share change δ on a share 1/bins adds about
    /// δ²/(1/bins) to PSI; summed over the bins, bins²·(2·rankError)².
    /// bins = 10: n = m = 1,000: 0.0469; n = m = 10,000: 0.0079 (PSI's usual warning
    /// level is 0.1). +∞ when n or m is 0; NaN when `bins` < 2 or `rankError` < 0.
    public static func psi(bins: Int, n: UInt64, m: UInt64, rankError: Double = DriftNoiseFloor.digestRankError) -> Double {
        guard bins >= 2, rankError >= 0 else { return .nan }
        let sketch = Double(bins * bins) * (2 * rankError) * (2 * rankError)
        return categoricalPSI(categories: bins, n: n, m: m) + sketch
    }

    /// The floor for ``CategoricalDrift/psi(expected:actual:expectedOther:actualOther:epsilon:)``
    /// over `categories` categories: χ²₀.₉₉(categories − 1)·(1/n + 1/m), the sampling
    /// term of ``psi(bins:n:m:rankError:)`` alone (histograms are exact).
    /// Categories rarer than ~5/n make PSI noisier than this (and the ε clamp inflates
    /// categories seen on one side only). 10 categories: n = m = 1,000: 0.0433;
    /// n = m = 10,000: 0.0043. +∞ when n or m is 0; NaN when `categories` < 2.
    public static func categoricalPSI(categories: Int, n: UInt64, m: UInt64) -> Double {
        guard categories >= 2 else { return .nan }
        guard let sampling = inverseSizes(n, m) else { return .infinity }
        return ChiSquare.quantile(0.99, degreesOfFreedom: categories - 1) * sampling
    }

    /// 1/n + 1/m, or `nil` when either is 0.
    private static func inverseSizes(_ n: UInt64, _ m: UInt64) -> Double? {
        n > 0 && m > 0 ? 1 / Double(n) + 1 / Double(m) : nil
    }
}
