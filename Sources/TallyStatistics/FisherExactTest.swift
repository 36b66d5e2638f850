#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fisher's exact test of a 2 × 2 table: `a` successes of `n` trials in A against `b`
/// of `m` in B. Given the margins, the successes in A follow the hypergeometric law
/// (N = n + m items, K = a + b successes, n drawn), so the p-values are exact sums of
/// its probabilities rather than a normal approximation. The two-proportion z-test is
/// anti-conservative when few successes are expected (4 of 100 against 0 of 400 gives
/// z-test p = 3·10⁻⁵, exact p = 1.5·10⁻³), which is where canary and cohort rates of
/// rare events live.
///
/// The probabilities are walked outwards from the mode with the ratio
/// P(x + 1)/P(x) = (K − x)(n − x)/((x + 1)(m − K + x + 1)), starting from log P by
/// `lgamma`, so the terms summed only shrink: a walk stops once a term adds less than
/// 10⁻¹⁷ of the sum, and a tail that reaches past the mode is 1 minus the other one.
/// A walk takes at most min(K, n, N − K, m) + 1 steps. Reference: Agresti,
/// *Categorical Data Analysis* (3rd ed.), §3.5.
public enum FisherExactTest {
    /// P(X ≥ a): the one-sided p-value that A's rate is higher than B's, in [0, 1].
    /// NaN when a > n, b > m or a side has 0 trials.
    public static func upperTail(successes a: UInt64, of n: UInt64, versus b: UInt64, of m: UInt64) -> Double {
        guard let table = Table(a: a, n: n, b: b, m: m) else { return .nan }
        if table.a > table.mode { return Swift.min(1, table.walk(from: table.a, step: 1)) }
        if table.a <= table.low { return 1 }
        return Swift.max(0, 1 - table.walk(from: table.a - 1, step: -1))
    }

    /// P(X ≤ a): the one-sided p-value that A's rate is lower than B's, in [0, 1].
    /// NaN when a > n, b > m or a side has 0 trials.
    public static func lowerTail(successes a: UInt64, of n: UInt64, versus b: UInt64, of m: UInt64) -> Double {
        guard let table = Table(a: a, n: n, b: b, m: m) else { return .nan }
        if table.a < table.mode { return Swift.min(1, table.walk(from: table.a, step: -1)) }
        if table.a >= table.high { return 1 }
        return Swift.max(0, 1 - table.walk(from: table.a + 1, step: 1))
    }

    /// The two-sided p-value: the probability of every table at most as likely as the
    /// observed one (the usual definition, as in R's `fisher.test`), in [0, 1].
    /// NaN when a > n, b > m or a side has 0 trials.
    public static func twoSided(successes a: UInt64, of n: UInt64, versus b: UInt64, of m: UInt64) -> Double {
        guard let table = Table(a: a, n: n, b: b, m: m) else { return .nan }
        // Relative slack so that tables as likely as the observed one count despite rounding.
        let bound = exp(table.logProbability(table.a)) * (1 + 1e-7)
        let up = table.walk(from: table.mode, step: 1, atMost: bound)
        let down = table.mode > table.low ? table.walk(from: table.mode - 1, step: -1, atMost: bound) : 0
        return Swift.min(1, up + down)
    }

    /// The table as doubles: its hypergeometric support low…high and mode.
    struct Table {
        let a: Double, n: Double, m: Double, k: Double
        let low: Double, high: Double, mode: Double
        let logDenominator: Double

        init?(a: UInt64, n: UInt64, b: UInt64, m: UInt64) {
            guard n > 0, m > 0, a <= n, b <= m else { return nil }
            self.a = Double(a)
            self.n = Double(n)
            self.m = Double(m)
            k = Double(a) + Double(b)
            low = Swift.max(0, k - self.m)
            high = Swift.min(k, self.n)
            mode = Swift.min(high, Swift.max(low, ((self.n + 1) * (k + 1) / (self.n + self.m + 2)).rounded(.down)))
            logDenominator = Self.logChoose(self.n + self.m, k)
        }

        static func logChoose(_ total: Double, _ chosen: Double) -> Double {
            lgamma(total + 1) - lgamma(chosen + 1) - lgamma(total - chosen + 1)
        }

        /// log P(X = x) = log C(n, x) + log C(m, K − x) − log C(N, K).
        func logProbability(_ x: Double) -> Double {
            Self.logChoose(n, x) + Self.logChoose(m, k - x) - logDenominator
        }

        /// Σ P(X = x) over the x from `start` (on the mode's side of it or at it) away
        /// from the mode, counting only the terms ≤ `atMost`. The terms shrink along the
        /// walk, which stops when one adds less than 10⁻¹⁷ of the sum.
        func walk(from start: Double, step: Double, atMost: Double = .infinity) -> Double {
            var term = exp(logProbability(start))
            var total = term <= atMost ? term : 0
            var x = start
            while step > 0 ? x < high : x > low {
                if step > 0 {
                    term *= (k - x) * (n - x) / ((x + 1) * (m - k + x + 1))
                } else {
                    term *= x * (m - k + x) / ((k - x + 1) * (n - x + 1))
                }
                x += step
                if term <= atMost {
                    total += term
                    if term < total * 1e-17 || term == 0 { break }
                }
            }
            return total
        }
    }
}
