#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Distances between two histograms of a categorical field (error classes, task
/// kinds, status codes): counts per category id, plus an optional `other` count for
/// the categories a histogram did not keep, treated as one more category.
///
/// Histograms are exact, so only sampling noise limits what a distance means
/// (``DriftNoiseFloor/categoricalPSI(categories:n:m:)``). A side with no counts at all
/// gives `nil`.
public enum CategoricalDrift {
    /// The population stability index between the category shares of `expected` and
    /// `actual` (see ``DigestDrift/populationStabilityIndex(expected:actual:epsilon:)``):
    /// over the categories present in either, shares below `epsilon` raised to it, so a
    /// category new in `actual` costs a large but finite amount. ≥ 0; `nil` when either
    /// side is empty or `epsilon` is not positive.
    public static func psi(expected: [UInt16: UInt64], actual: [UInt16: UInt64],
                           expectedOther: UInt64 = 0, actualOther: UInt64 = 0, epsilon: Double = 1e-4) -> Double? {
        guard epsilon > 0,
              let (e, a) = AlignedCounts.shares(expected, actual, otherA: expectedOther, otherB: actualOther)
        else { return nil }
        return DigestDrift.populationStabilityIndex(expected: e, actual: a, epsilon: epsilon)
    }

    /// The Jensen–Shannon distance between the category shares P and Q: the square root
    /// of the Jensen–Shannon divergence ½·KL(P‖M) + ½·KL(Q‖M), M = (P + Q)/2, in
    /// base-2 logarithms, so both lie in [0, 1]: 0 for equal shares, 1 for histograms
    /// with no category in common. A metric (unlike the divergence), and finite without
    /// any smoothing. `nil` when either side is empty.
    public static func jensenShannonDistance(_ baseline: [UInt16: UInt64], _ current: [UInt16: UInt64],
                                             baselineOther: UInt64 = 0, currentOther: UInt64 = 0) -> Double? {
        guard let (p, q) = AlignedCounts.shares(baseline, current, otherA: baselineOther, otherB: currentOther)
        else { return nil }
        /// x·log₂(x/m), 0 when x is 0.
        func term(_ x: Double, _ m: Double) -> Double { x > 0 ? x * log2(x / m) : 0 }
        let divergence = zip(p, q).reduce(0.0) { sum, pair in
            let m = (pair.0 + pair.1) / 2
            return sum + (term(pair.0, m) + term(pair.1, m)) / 2
        }
        return Swift.min(Swift.max(divergence, 0), 1).squareRoot()
    }

    /// Pearson's chi-square test that both histograms come from one categorical
    /// distribution: a 2 × k table over the k categories present in either (with
    /// `other` as one more when nonzero), df = k − 1. Rare categories (expected count
    /// below ~5) make the p-value only indicative. `nil` when either side is empty or
    /// there are fewer than 2 categories.
    public static func chiSquare(_ baseline: [UInt16: UInt64], _ current: [UInt16: UInt64],
                                 baselineOther: UInt64 = 0, currentOther: UInt64 = 0) -> ChiSquareTest? {
        let (a, b) = AlignedCounts.counts(baseline, current, otherA: baselineOther, otherB: currentOther)
        guard a.count >= 2, a.contains(where: { $0 > 0 }), b.contains(where: { $0 > 0 }) else { return nil }
        return ContingencyTable.homogeneity([a, b])
    }
}
