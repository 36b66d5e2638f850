import TallySketches

extension DigestDrift {
    /// Quantile levels per digest added to the points where ``kolmogorovSmirnov(_:_:)``
    /// compares the two CDFs.
    public static let ksGridPoints = 200

    /// The two-sample Kolmogorov–Smirnov distance sup_x |F_b(x) − F_c(x)|, in [0, 1],
    /// between the digests' CDFs; `nil` when either digest is empty.
    ///
    /// The supremum is taken over a finite set of points: both digests' centroid means,
    /// minima and maxima, and ``ksGridPoints`` quantiles of each (levels (i + ½)/200).
    /// A digest's estimated CDF is piecewise linear between its minimum, centroid means
    /// and maximum (a step at single-value centroids, right-continuous like an
    /// empirical CDF), so the difference of two of them peaks at one of those points;
    /// the quantile grid is a margin. The result still carries both digests' rank
    /// error (``DriftNoiseFloor/ks(n:m:rankError:alpha:)``); digests of at most
    /// ``TDigest/exactLimit`` values give the exact sample distance.
    public static func kolmogorovSmirnov(_ baseline: TDigest, _ current: TDigest) -> Double? {
        guard !baseline.isEmpty, !current.isEmpty else { return nil }
        let b = compressed(baseline), c = compressed(current)
        var points = [b.min, b.max, c.min, c.max]
        for digest in [b, c] {
            points += digest.centroidList.map(\.mean)
            points += (0..<ksGridPoints).map { digest.quantile((Double($0) + 0.5) / Double(ksGridPoints)) }
        }
        return points.reduce(0.0) { Swift.max($0, abs(b.cdf($1) - c.cdf($1))) }
    }

    /// The asymptotic p-value P(D ≥ `d`) of a two-sample KS distance `d` between samples
    /// of `n` and `m` values from one distribution, in [0, 1].
    ///
    /// Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·d) with nₑ = nm/(n + m): the Kolmogorov
    /// distribution with Stephens' small-sample correction (M. A. Stephens, "Use of
    /// the Kolmogorov–Smirnov, Cramér–von Mises and related statistics without
    /// extensive tables", JRSS B 32, 1970), as in Numerical Recipes (3rd ed., §14.3.3).
    /// Good for nₑ ≥ 4 or so; for tiny samples it is approximate. The digests' rank
    /// error is not accounted for: compare `d` with ``DriftNoiseFloor/ks(n:m:rankError:alpha:)``
    /// as well. 1 for d ≤ 0; NaN when `n` or `m` is 0 or `d` is NaN.
    public static func ksPValue(d: Double, n: UInt64, m: UInt64) -> Double {
        guard n > 0, m > 0, !d.isNaN else { return .nan }
        let effective = (Double(n) * Double(m) / (Double(n) + Double(m))).squareRoot()
        return KolmogorovDistribution.survival((effective + 0.12 + 0.11 / effective) * d)
    }
}
