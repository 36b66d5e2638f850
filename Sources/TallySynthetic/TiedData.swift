#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Data with many equal values, the way inference telemetry has them: integer token
/// counts, lengths capped at a limit, requests that time out at a fixed bound. Used to
/// check that a quantile whose rank falls inside a run of equal values returns that value.
public enum TiedData: Sendable, Hashable, CustomStringConvertible {
    /// Integers 1 … `n` with P(k) ∝ k^(−`exponent`) (Zipf).
    case zipf(n: Int, exponent: Double)
    /// ⌈lognormal(mu, sigma)⌉ capped at `cap` (e.g. output tokens at `max_tokens`).
    case cappedLognormal(mu: Double, sigma: Double, cap: Double)
    /// lognormal(mu, sigma) seconds, except that a share `timeouts` is exactly `limit`
    /// (and nothing exceeds it).
    case timeouts(mu: Double, sigma: Double, limit: Double, timeouts: Double)
    /// ⌊exponential(mean)⌋: small integer counts (retries, tool calls).
    case smallCounts(mean: Double)

    /// `count` values drawn with `seed`.
    public func values(_ count: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        switch self {
        case let .zipf(n, exponent):
            // Inverse CDF over a cumulative table (n doubles), then a binary search a draw.
            var cumulative = [Double](repeating: 0, count: n)
            var total = 0.0
            for k in 1...n {
                total += pow(Double(k), -exponent)
                cumulative[k - 1] = total
            }
            return (0..<count).map { _ in
                let u = rng.unit() * total
                var lo = 0, hi = n - 1
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
                }
                return Double(lo + 1)
            }
        case let .cappedLognormal(mu, sigma, cap):
            let d = Distribution.lognormal(mu: mu, sigma: sigma)
            return (0..<count).map { _ in Swift.min(d.sample(&rng).rounded(.up), cap) }
        case let .timeouts(mu, sigma, limit, share):
            let d = Distribution.lognormal(mu: mu, sigma: sigma)
            return (0..<count).map { _ in rng.unit() < share ? limit : Swift.min(d.sample(&rng), limit) }
        case let .smallCounts(mean):
            let d = Distribution.exponential(rate: 1 / mean)
            return (0..<count).map { _ in d.sample(&rng).rounded(.down) }
        }
    }

    /// The tied data sets of the accuracy report and tests.
    public static let suite: [(name: String, data: TiedData)] = [
        ("zipf-int", .zipf(n: 10_000, exponent: 1.1)),
        ("tokens-capped", .cappedLognormal(mu: 6, sigma: 1.2, cap: 1_024)),
        ("timeouts", .timeouts(mu: 0, sigma: 1, limit: 30, timeouts: 0.05)),
        ("small-counts", .smallCounts(mean: 2)),
    ]

    public var description: String {
        switch self {
        case let .zipf(n, s): "zipf(1…\(n), s=\(s))"
        case let .cappedLognormal(mu, sigma, cap): "⌈lognormal(\(mu),\(sigma))⌉ capped at \(cap)"
        case let .timeouts(mu, sigma, limit, share): "lognormal(\(mu),\(sigma)) s, \(share) at \(limit) s"
        case let .smallCounts(mean): "⌊exponential(mean \(mean))⌋"
        }
    }
}
