#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The standard normal distribution N(0, 1): its CDF, two-sided tail and inverse.
public enum StandardNormal {
    /// P(Z ≤ `z`), in [0, 1]; NaN for NaN. Computed as ½·erfc(−z/√2), which keeps full
    /// relative precision far into the lower tail (no 1 − x cancellation).
    public static func cdf(_ z: Double) -> Double {
        0.5 * erfc(-z / 2.0.squareRoot())
    }

    /// P(|Z| ≥ |`z`|) = erfc(|z|/√2), in [0, 1]: the p-value of a two-sided z-test.
    /// 1 for z = 0, NaN for NaN.
    public static func twoSidedPValue(z: Double) -> Double {
        erfc(abs(z) / 2.0.squareRoot())
    }

    /// The z with P(Z ≤ z) = `p`: −∞ for p = 0, +∞ for p = 1, NaN outside [0, 1].
    ///
    /// P. J. Acklam's rational approximation ("An algorithm for computing the inverse
    /// normal cumulative distribution function", 2003; relative error ≤ 1.15·10⁻⁹),
    /// then one Halley step against ``cdf(_:)``, which brings it to about machine
    /// precision.
    public static func quantile(_ p: Double) -> Double {
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        let x: Double
        if p < lowRegion {
            x = tail((-2 * log(p)).squareRoot())
        } else if p <= 1 - lowRegion {
            let q = p - 0.5, r = q * q
            x = q * polynomial(central.numerator, r) / polynomial(central.denominator + [1], r)
        } else {
            x = -tail((-2 * log1p(-p)).squareRoot())
        }
        // Halley's method on cdf(x) − p (Acklam's refinement).
        let e = cdf(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }

    /// Below this p (and above 1 − it) the tail approximation applies.
    private static let lowRegion = 0.02425

    /// Acklam's coefficients for the central region, |p − ½| ≤ ½ − 0.02425 (in r = (p − ½)²).
    private static let central = (
        numerator: [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                    1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00],
        denominator: [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                      6.680131188771972e+01, -1.328068155288572e+01])

    /// Acklam's coefficients for the lower tail (in q = √(−2 ln p)).
    private static let lower = (
        numerator: [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                    -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00],
        denominator: [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                      3.754408661907416e+00])

    /// The lower-tail rational function at q = √(−2 ln p); negative.
    private static func tail(_ q: Double) -> Double {
        polynomial(lower.numerator, q) / polynomial(lower.denominator + [1], q)
    }

    /// Horner: `coefficients` from the highest power down to the constant.
    private static func polynomial(_ coefficients: [Double], _ x: Double) -> Double {
        coefficients.reduce(0) { $0 * x + $1 }
    }
}
