import TallySketches
import TallySynthetic

/// `n` seeded draws from `distribution`.
func draw(_ distribution: Distribution, _ n: Int, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<n).map { _ in distribution.sample(&rng) }
}

/// A digest with the per-series parameters of TallyCore's `SketchParameters`
/// (compression 100, the default scale, a 248-value buffer) holding `values`.
func perSeriesDigest(_ values: [Double]) -> TDigest {
    var digest = TDigest(compression: 100, scale: TDigest.defaultScale, bufferCapacity: 248)
    for value in values { digest.insert(value) }
    return digest
}

/// The exact two-sample KS distance sup |F_a − F_b| of the empirical CDFs, stepping
/// through both sorted samples past all copies of each value before comparing.
func exactKS(_ a: [Double], _ b: [Double]) -> Double {
    let x = a.sorted(), y = b.sorted()
    var i = 0, j = 0, d = 0.0
    while i < x.count && j < y.count {
        let value = Swift.min(x[i], y[j])
        while i < x.count && x[i] == value { i += 1 }
        while j < y.count && y[j] == value { j += 1 }
        d = Swift.max(d, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
    }
    return d
}

/// Fractions of `values` in the bins (−∞, e₁], (e₁, e₂], …, (e_k, ∞).
func exactShares(_ values: [Double], edges: [Double]) -> [Double] {
    var counts = [Double](repeating: 0, count: edges.count + 1)
    for value in values { counts[edges.firstIndex { value <= $0 } ?? edges.count] += 1 }
    return counts.map { $0 / Double(values.count) }
}

/// The population standard deviation of `values`.
func exactStandardDeviation(_ values: [Double]) -> Double {
    let mean = values.reduce(0, +) / Double(values.count)
    return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
}
