#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The regularized incomplete gamma functions P(a, x) = γ(a, x)/Γ(a) and
/// Q(a, x) = 1 − P(a, x), for a > 0, x ≥ 0.
///
/// The method of Numerical Recipes (Press et al., 3rd ed., §6.2, `gammp`/`gammq`):
/// the series for γ when x < a + 1, where it converges fast, and otherwise
/// Legendre's continued fraction for Γ(a, x), evaluated with the modified Lentz
/// algorithm. Each side is computed directly, so the small one keeps its relative
/// precision instead of being 1 minus something close to 1.
enum IncompleteGamma {
    /// Q(a, x), in [0, 1]; NaN when a ≤ 0, x < 0 or either is NaN; 0 for x = +∞.
    static func upper(a: Double, x: Double) -> Double {
        guard a > 0, x >= 0 else { return .nan }
        if x == 0 { return 1 }
        if x == .infinity { return 0 }
        return x < a + 1 ? 1 - lowerSeries(a: a, x: x) : upperFraction(a: a, x: x)
    }

    /// Relative precision at which the series and the fraction stop.
    private static let epsilon = 1e-15
    /// Iterations at which they give up (neither needs nearly as many for df ≤ 10⁶).
    private static let iterations = 10_000
    /// Stands in for zero in Lentz's method.
    private static let tiny = Double.leastNormalMagnitude / Double.ulpOfOne

    /// e^(−x)·x^a/Γ(a), the prefactor both expansions share, in logs to avoid overflow.
    private static func prefactor(a: Double, x: Double) -> Double {
        exp(-x + a * log(x) - lgamma(a))
    }

    /// P(a, x) by the series Σₙ xⁿ/(a(a+1)…(a+n)); for x < a + 1.
    private static func lowerSeries(a: Double, x: Double) -> Double {
        var denominator = a
        var term = 1 / a
        var sum = term
        for _ in 0..<iterations {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) < abs(sum) * epsilon { break }
        }
        return sum * prefactor(a: a, x: x)
    }

    /// Q(a, x) by the continued fraction 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …)));
    /// for x ≥ a + 1.
    private static func upperFraction(a: Double, x: Double) -> Double {
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...iterations {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < epsilon { break }
        }
        return prefactor(a: a, x: x) * h
    }
}
