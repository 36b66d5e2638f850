#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Kolmogorov distribution: the limit of √n·Dₙ for the one-sample
/// Kolmogorov–Smirnov statistic Dₙ under the null hypothesis.
enum KolmogorovDistribution {
    /// Q_KS(λ) = 2 Σ_{j≥1} (−1)^(j−1) e^(−2j²λ²) = P(K > λ), in [0, 1]; 1 for λ ≤ 0,
    /// NaN for NaN.
    ///
    /// As in Numerical Recipes (3rd ed., §6.14, `KSdist`): the alternating series
    /// converges fast for large λ; below λ = 1.18 the equivalent theta-function form
    /// P_KS(λ) = (√(2π)/λ) Σ_{j≥1} e^(−(2j−1)²π²/(8λ²)) does, and Q = 1 − P.
    static func survival(_ lambda: Double) -> Double {
        guard !lambda.isNaN else { return .nan }
        if lambda <= 0 { return 1 }
        if lambda < 1.18 {
            let y = -Double.pi * Double.pi / (8 * lambda * lambda)
            var sum = 0.0
            for j in 1...8 {
                let odd = Double(2 * j - 1)
                sum += exp(odd * odd * y)
            }
            return Swift.min(Swift.max(1 - (2 * Double.pi).squareRoot() / lambda * sum, 0), 1)
        }
        var sum = 0.0, sign = 1.0
        for j in 1...100 {
            let term = exp(-2 * Double(j * j) * lambda * lambda)
            sum += sign * term
            sign = -sign
            if term < 1e-17 { break }
        }
        return Swift.min(Swift.max(2 * sum, 0), 1)
    }
}
