/// The chi-square distribution with k degrees of freedom: its upper tail and inverse.
public enum ChiSquare {
    /// P(X ≥ `x`) for X ~ χ²(k), in [0, 1]: the p-value of a chi-square statistic.
    ///
    /// Equals Q(k/2, x/2), the regularized upper incomplete gamma function
    /// (``IncompleteGamma``). 1 for x ≤ 0; NaN when k < 1 or x is NaN.
    public static func survival(_ x: Double, degreesOfFreedom k: Int) -> Double {
        guard k >= 1, !x.isNaN else { return .nan }
        if x <= 0 { return 1 }
        return IncompleteGamma.upper(a: Double(k) / 2, x: x / 2)
    }

    /// The x with P(X ≤ x) = `p` for X ~ χ²(k): 0 for p = 0, +∞ for p = 1; NaN when
    /// k < 1 or p is outside [0, 1].
    ///
    /// Bisection on ``survival(_:degreesOfFreedom:)`` to a relative width of 10⁻¹²: slow
    /// next to a dedicated approximation (~100 evaluations), but exact to the precision
    /// of the tail itself, and it is meant for thresholds computed once.
    public static func quantile(_ p: Double, degreesOfFreedom k: Int) -> Double {
        guard k >= 1, p >= 0, p <= 1 else { return .nan }
        if p == 0 { return 0 }
        if p == 1 { return .infinity }
        let tail = 1 - p
        var low = 0.0, high = Double(k) + 10
        while survival(high, degreesOfFreedom: k) > tail { low = high; high *= 2 }
        while high - low > 1e-12 * high {
            let middle = (low + high) / 2
            if survival(middle, degreesOfFreedom: k) > tail { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
