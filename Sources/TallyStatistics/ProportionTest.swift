/// The two-proportion z-test: is a success rate in sample A different from the one in
/// sample B (error rates, refusal rates, thumbs-down rates of a canary and its stable
/// version)?
///
/// Uses the pooled standard error of the null hypothesis that both rates are equal,
/// SE = √(p̂(1 − p̂)(1/n + 1/m)) with p̂ = (a + b)/(n + m), and z = (rateA − rateB)/SE.
/// The normal approximation wants every expected cell of the 2 × 2 table (n·p̂,
/// n·(1 − p̂), m·p̂, m·(1 − p̂)) at least 5; below that it overstates significance, so
/// the p-values come from ``FisherExactTest`` instead (``isExact``) and `z` is only
/// descriptive. In the far tail, where the index decides (p ~ 10⁻⁴), the approximation
/// still overstates significance with a few hundred expected: 23 of 227 against 33 of
/// 829 gives a one-sided z p of 1.2 × 10⁻⁴ and an exact one of 5.2 × 10⁻⁴. So the test is
/// also exact whenever the smallest expected cell is below ``exactTailBelowExpected`` and
/// the z-test's two-sided p is below ``exactTailBelowP``.
public struct ProportionTest: Sendable {
    /// Successes per trial in A, in [0, 1].
    public let rateA: Double
    /// Successes per trial in B, in [0, 1].
    public let rateB: Double
    /// rateA − rateB, in [−1, 1].
    public let difference: Double
    /// rateA / rateB: +∞ when rateB is 0 and rateA is not, NaN when both are 0.
    public let ratio: Double
    /// The difference in pooled standard errors; 0 when the pooled rate is 0 or 1
    /// (then both rates are equal and there is no variance).
    public let z: Double
    /// Two-sided p-value, in [0, 1]: of `z` (1 when z is 0), or Fisher's exact one
    /// when ``isExact``.
    public let pValue: Double
    /// True when the p-values are Fisher's exact ones: an expected cell is below
    /// ``exactBelowExpected``, or below ``exactTailBelowExpected`` with the z-test's
    /// two-sided p below ``exactTailBelowP``.
    public let isExact: Bool
    /// The smallest expected cell count at which the normal approximation is used.
    public static let exactBelowExpected = 5.0
    /// Below this smallest expected cell, a z-test p under ``exactTailBelowP`` is
    /// replaced by the exact one (the exact walk then costs at most a few hundred terms).
    public static let exactTailBelowExpected = 1_000.0
    /// The two-sided z-test p below which the far-tail rule applies.
    public static let exactTailBelowP = 0.01
    let counts: (a: UInt64, n: UInt64, b: UInt64, m: UInt64)

    /// One-sided p-value that A's rate is higher than B's (`aHigher`) or lower, in [0, 1]:
    /// P(Z ≥ z) (or P(Z ≤ z)), or Fisher's exact tail when ``isExact``.
    public func oneSidedPValue(aHigher: Bool) -> Double {
        if isExact {
            return aHigher ? FisherExactTest.upperTail(successes: counts.a, of: counts.n, versus: counts.b, of: counts.m)
                : FisherExactTest.lowerTail(successes: counts.a, of: counts.n, versus: counts.b, of: counts.m)
        }
        return 1 - StandardNormal.cdf(aHigher ? z : -z)
    }

    /// Compares `a` successes of `n` trials with `b` successes of `m` trials.
    /// `nil` when `n` or `m` is 0 or successes exceed their trials.
    public static func compare(successes a: UInt64, of n: UInt64, versus b: UInt64, of m: UInt64) -> ProportionTest? {
        guard n > 0, m > 0, a <= n, b <= m else { return nil }
        let rateA = Double(a) / Double(n), rateB = Double(b) / Double(m)
        let pooled = (Double(a) + Double(b)) / (Double(n) + Double(m))
        let standardError = (pooled * (1 - pooled) * (1 / Double(n) + 1 / Double(m))).squareRoot()
        let z = standardError > 0 ? (rateA - rateB) / standardError : 0
        let total = Double(n) + Double(m), successes = Double(a) + Double(b)
        let smallestExpected = Swift.min(successes, total - successes) * Double(Swift.min(n, m)) / total
        let zPValue = StandardNormal.twoSidedPValue(z: z)
        let isExact = smallestExpected < exactBelowExpected
            || (smallestExpected < exactTailBelowExpected && zPValue < exactTailBelowP)
        let pValue = isExact ? FisherExactTest.twoSided(successes: a, of: n, versus: b, of: m) : zPValue
        return ProportionTest(rateA: rateA, rateB: rateB, difference: rateA - rateB, ratio: rateA / rateB,
                              z: z, pValue: pValue, isExact: isExact, counts: (a, n, b, m))
    }

    /// Pearson's chi-square test that k groups share one success rate (a k × 2 table of
    /// successes and failures; for k = 2 the statistic is the square of ``z``).
    ///
    /// Groups with no trials are left out; df = (groups with trials) − 1. When no group
    /// has a success (or none a failure) the statistic is 0 and the p-value 1.
    /// `nil` when the arrays differ in length, a group has more successes than trials,
    /// or fewer than 2 groups have trials.
    public static func chiSquareHomogeneity(successes: [UInt64], totals: [UInt64]) -> ChiSquareTest? {
        guard successes.count == totals.count, zip(successes, totals).allSatisfy({ $0 <= $1 }) else { return nil }
        let rows = zip(successes, totals).filter { $0.1 > 0 }.map { [$0, $1 - $0] }
        guard rows.count >= 2 else { return nil }
        return ContingencyTable.homogeneity(rows)
    }
}
