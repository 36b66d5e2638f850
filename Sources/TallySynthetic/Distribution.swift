#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Continuous distributions used to generate realistic latencies and to test
/// sketches against known shapes.
public enum Distribution: Sendable, Hashable, CustomStringConvertible {
    /// Uniform on [low, high).
    case uniform(low: Double, high: Double)
    /// Exponential with the given rate (mean 1/rate).
    case exponential(rate: Double)
    /// exp(N(mu, sigma)).
    case lognormal(mu: Double, sigma: Double)
    /// Pareto with scale x_m and shape alpha (heavy tail; infinite variance for alpha ≤ 2).
    case pareto(scale: Double, alpha: Double)
    case normal(mean: Double, sd: Double)
    /// With probability `weight` the first normal, otherwise the second.
    case bimodal(weight: Double, first: (Double, Double), second: (Double, Double))

    /// Draws one value using inverse-CDF or Box–Muller sampling.
    @inlinable
    public func sample(_ rng: inout SplitMix64) -> Double {
        switch self {
        case let .uniform(low, high):
            return low + (high - low) * rng.unit()
        case let .exponential(rate):
            return -log(rng.openUnit()) / rate
        case let .lognormal(mu, sigma):
            return exp(mu + sigma * Self.standardNormal(&rng))
        case let .pareto(scale, alpha):
            return scale / pow(rng.openUnit(), 1 / alpha)
        case let .normal(mean, sd):
            return mean + sd * Self.standardNormal(&rng)
        case let .bimodal(weight, first, second):
            let (mean, sd) = rng.unit() < weight ? first : second
            return mean + sd * Self.standardNormal(&rng)
        }
    }

    /// One N(0, 1) draw (Box–Muller; the second value is discarded for simplicity).
    @inlinable
    public static func standardNormal(_ rng: inout SplitMix64) -> Double {
        let u = rng.openUnit(), v = rng.unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// The five shapes of the sketch accuracy targets (issue 3, DESIGN.md).
    public static let accuracySuite: [(name: String, distribution: Distribution)] = [
        ("uniform", .uniform(low: 0, high: 1)),
        ("exponential", .exponential(rate: 1)),
        ("lognormal", .lognormal(mu: 0, sigma: 1)),
        ("pareto1.5", .pareto(scale: 1, alpha: 1.5)),
        ("bimodal", .bimodal(weight: 0.9, first: (100, 10), second: (2000, 200))),
    ]

    public var description: String {
        switch self {
        case let .uniform(l, h): "uniform(\(l),\(h))"
        case let .exponential(r): "exponential(\(r))"
        case let .lognormal(m, s): "lognormal(\(m),\(s))"
        case let .pareto(x, a): "pareto(\(x),\(a))"
        case let .normal(m, s): "normal(\(m),\(s))"
        case let .bimodal(w, a, b): "bimodal(\(w),\(a),\(b))"
        }
    }

    public static func == (a: Distribution, b: Distribution) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// Zipf-distributed ranks 0 ..< n with exponent s (rank 0 most frequent), by
/// inverse-CDF lookup in a precomputed table: O(log n) per draw.
public struct ZipfDistribution: Sendable {
    public let count: Int
    public let exponent: Double
    @usableFromInline let cumulative: [Double]

    public init(count: Int, exponent: Double = 1.1) {
        precondition(count > 0)
        self.count = count
        self.exponent = exponent
        var sum = 0.0
        var table: [Double] = []
        table.reserveCapacity(count)
        for rank in 1...count {
            sum += 1 / pow(Double(rank), exponent)
            table.append(sum)
        }
        cumulative = table.map { $0 / sum }
    }

    @inlinable
    public func sample(_ rng: inout SplitMix64) -> Int {
        let u = rng.unit()
        var low = 0, high = count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
