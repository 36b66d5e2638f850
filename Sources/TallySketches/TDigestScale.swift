#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The scale functions of Dunning & Ertl, "Computing Extremely Accurate Quantiles
/// Using t-Digests" (2019), section 2.1. A centroid may span at most one unit of
/// k: k(q_right) − k(q_left) ≤ 1. Steeper ends give smaller centroids, so tighter
/// quantiles, near q = 0 and q = 1.
public enum TDigestScale: UInt8, Sendable, CaseIterable {
    /// k1(q) = δ/(2π)·asin(2q − 1): centroid size ∝ √(q(1−q)).
    case k1 = 1
    /// k2(q) = δ/Z·log(q/(1−q)), Z = 4·log(n/δ) + 24: size ∝ q(1−q).
    case k2 = 2
    /// k3(q) = δ/Z·log(2q) (q ≤ ½), −δ/Z·log(2(1−q)) (q > ½), Z = 4·log(n/δ) + 21:
    /// size ∝ min(q, 1−q).
    case k3 = 3
    /// Tally's tail-boosted k2: with u = log(q/(1−q)), k = δ/Z·(u + sign(u)·λ·t²/2),
    /// t = min(max(0, |u| − u₀), u₁ − u₀), Z as for k2. It is k2 for q within
    /// [σ(−u₀), σ(u₀)] and adds centroids beyond, where they are small (cheap to
    /// store) and where rank and value errors matter most: at |u| = u₀ + t the
    /// centroids are 1 + λt times smaller than k2's. λ = ``tailBoost``, u₀ = ``tailStart``.
    case k2t = 4
    /// ``k2t``, and no centroid spans more than ``relativeSpan`` (0.8 %) of its values'
    /// magnitude: |last − first| ≤ 0.008 · max(|first|, |last|) over the values (or merged
    /// centroids' means) it holds, and a quantile stays within 0.8 % of the mean of the
    /// centroid whose ranks hold it. Every quantile is then within 1 % of the exact order
    /// statistic, at the price of more centroids where the data are dense over a wide range
    /// (about 70 an octave of dense values). The per-series digests of the aggregation
    /// core use it (issue 16: relative value error ≤ 1 % at every q in [0.01, 0.999]).
    case k2tRelative = 5

    /// The largest relative value span of a centroid (0: no bound beyond the scale's).
    @inlinable public var relativeSpan: Double { self == .k2tRelative ? 0.008 : 0 }

    /// Whether digests of this scale and `other` merge: equal scales, or ``k2t`` with
    /// ``k2tRelative`` (the same k; the merge takes ``k2tRelative`` and its span bound, so
    /// windows written before the aggregation core used it still merge with later ones).
    @inlinable public func mergesWith(_ other: TDigestScale) -> Bool {
        self == other || (self == .k2t && other == .k2tRelative) || (self == .k2tRelative && other == .k2t)
    }

    /// λ of ``k2t``.
    public static let tailBoost = 0.5
    /// u₁ of ``k2t``: log-odds where the boost stops growing (8 ≈ q = .99966); beyond
    /// it the slope is k2's again, so the last few hundred values do not each become a centroid.
    public static let tailEnd = 8.0
    /// u₀ of ``k2t``: log-odds where the boost starts (3 ≈ q = .953).
    public static let tailStart = 3.0

    /// Z of this scale for total weight `n` (k2, k2t: 4·log(n/δ) + 24; k3: + 21; k1: unused).
    @inlinable
    func normalizer(n: Double, delta: Double) -> Double {
        switch self {
        case .k1: return 1
        case .k3: return Self.normalizer(n, delta, 21)
        case .k2, .k2t, .k2tRelative: return Self.normalizer(n, delta, 24)
        }
    }

    /// k(q) for compression `delta` and normalizer `z` (``normalizer(n:delta:)``, which is
    /// constant over a merge pass, so it is computed once there).
    @inlinable
    func k(_ q: Double, delta: Double, z: Double) -> Double {
        switch self {
        case .k1:
            return delta / (2 * Double.pi) * asin(2 * q - 1)
        case .k2:
            let q = Swift.min(Swift.max(q, 1e-15), 1 - 1e-15)
            return delta / z * log(q / (1 - q))
        case .k3:
            let q = Swift.min(Swift.max(q, 1e-15), 1 - 1e-15)
            let factor = delta / z
            return q <= 0.5 ? factor * log(2 * q) : -factor * log(2 * (1 - q))
        case .k2t, .k2tRelative:
            let q = Swift.min(Swift.max(q, 1e-15), 1 - 1e-15)
            let u = log(q / (1 - q))
            let t = Swift.min(Swift.max(0, abs(u) - Self.tailStart), Self.tailEnd - Self.tailStart)
            let boosted = abs(u) + Self.tailBoost * t * t / 2
            return delta / z * (u < 0 ? -boosted : boosted)
        }
    }

    /// The inverse of ``k(_:delta:z:)``.
    @inlinable
    func q(_ k: Double, delta: Double, z: Double) -> Double {
        switch self {
        case .k1:
            let x = k * 2 * Double.pi / delta
            return x >= Double.pi / 2 ? 1 : (sin(x) + 1) / 2
        case .k2:
            let x = k * z / delta
            return 1 / (1 + exp(-x))
        case .k3:
            let x = k * z / delta
            return x <= 0 ? exp(x) / 2 : 1 - exp(-x) / 2
        case .k2t, .k2tRelative:
            let x = abs(k * z / delta)
            let lambda = Self.tailBoost
            let span = Self.tailEnd - Self.tailStart
            let fullBoost = lambda * span * span / 2
            var magnitude = x
            if x > Self.tailEnd + fullBoost {
                magnitude = x - fullBoost
            } else if x > Self.tailStart {
                // Solve t + λt²/2 = x − u₀ for t ≥ 0.
                magnitude = Self.tailStart + ((1 + 2 * lambda * (x - Self.tailStart)).squareRoot() - 1) / lambda
            }
            let u = k < 0 ? -magnitude : magnitude
            return 1 / (1 + exp(-u))
        }
    }

    @inlinable
    static func normalizer(_ n: Double, _ delta: Double, _ constant: Double) -> Double {
        4 * log(Swift.max(n / delta, 1)) + constant
    }
}

/// The merge pass's step, `q(k(x) + span)`, for one pass (fixed δ and n), with
/// what does not depend on x computed once. For k2, and for k2t while x and the
/// result stay in its middle (|log-odds| ≤ u₀, where it equals k2), a step of k is
/// a step of s = span·Z/δ in log-odds, so q(k(x) + span) = x / (x + (1 − x)·e^(−s)):
/// no logarithm or exponential per centroid. Elsewhere it evaluates k and q (one
/// logarithm and one exponential; the normalizer Z is computed once per pass).
struct TDigestScaleStep {
    let scale: TDigestScale
    let delta: Double
    /// Z for this pass's total weight.
    let z: Double
    let span: Double
    /// e^(−s), or NaN when the shortcut does not apply to this scale.
    let shrink: Double
    /// The middle of k2t in q: [σ(−u₀), σ(u₀)]; all of [0, 1] for k2.
    let low: Double
    let high: Double

    init(scale: TDigestScale, delta: Double, n: Double, span: Double) {
        self.scale = scale
        self.delta = delta
        self.z = scale.normalizer(n: n, delta: delta)
        self.span = span
        switch scale {
        case .k2, .k2t, .k2tRelative:
            shrink = exp(-span * z / delta)
            let u0 = scale == .k2 ? Double.infinity : TDigestScale.tailStart
            low = 1 / (1 + exp(u0))
            high = 1 / (1 + exp(-u0))
        case .k1, .k3:
            shrink = .nan
            low = 1
            high = 0
        }
    }

    /// q(k(x) + span), for x = the share of the weight before the next centroid.
    @inline(__always)
    func next(_ x: Double) -> Double {
        if x >= low && x > 0 {
            let stepped = x / (x + (1 - x) * shrink)
            if stepped <= high { return stepped }
        }
        return scale.q(scale.k(x, delta: delta, z: z) + span, delta: delta, z: z)
    }
}
