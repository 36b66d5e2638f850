import TallySketches
import TallySynthetic

/// The per-series accuracy of the aggregation core (issue 16): values through a
/// ``HistogramFrontEnd`` the way a busy series feeds them (the first 64 to the digest, then
/// the histogram), sealed into a δ = 100 k2t-relative digest, written in the compact form of
/// version-2 snapshots (means to 21 bits) and read back; and 10 such digests merged. Against exact order statistics: the worst relative value error at
/// q = 0.01 … 0.999 (``QuantileCheck``), and for tied data whether every q whose rank falls in
/// a run of ≥ 1 % of the values answers the run's value. The per-series digest before
/// (k2t, no front end) is printed beside it.
struct SeriesAccuracyReport {
    let counts: [Int]

    func run() throws {
        print("per-series distributions (δ = 100, 248-value buffer): worst value error % at q in [.01, .999] as read from a v2 snapshot, bytes (v1 form before, compact form after)")
        print(pad("data set", 22) + pad("before: k2t", 22) + pad("front end + k2t-relative", 28)
              + pad("merged 10×", 18) + "runs ≥ 1 % exact")
        var sets: [(String, [Double], Bool)] = []
        for (index, (name, distribution)) in Distribution.accuracySuite.enumerated() {
            for n in counts {
                var rng = SplitMix64(seed: 3_000 + UInt64(index))
                sets.append(("\(name) n=\(n)", (0..<n).map { _ in distribution.sample(&rng) }, false))
            }
        }
        for (index, (name, tied)) in TiedData.suite.enumerated() {
            // Integers, as the core holds counts and microseconds (timeouts: seconds → µs).
            let scale = name == "timeouts" ? 1_000_000.0 : 1
            let n = counts.max() ?? 100_000
            sets.append(("\(name) n=\(n)", tied.values(n, seed: 4_000 + UInt64(index)).map { ($0 * scale).rounded() }, true))
        }
        var worst = 0.0, worstMerged = 0.0
        for (label, data, integers) in sets {
            let sorted = data.sorted()
            var before = TDigest(compression: 100, scale: .k2t, bufferCapacity: 248)
            for x in data { before.insert(x) }
            let built = try Self.throughSnapshot(Self.sealed(data, integers: integers))
            let k = data.count / 10
            let merged = try TDigest.merged((0..<10).map { part in
                try Self.throughSnapshot(Self.sealed(Array(data[(part * k)..<((part + 1) * k)]), integers: integers))
            })
            let errorBefore = QuantileCheck.worstValueError(sorted: sorted) { before.quantile($0) }.error
            let (error, at) = QuantileCheck.worstValueError(sorted: sorted) { built.quantile($0) }
            let errorMerged = QuantileCheck.worstValueError(sorted: sorted) { merged.quantile($0) }.error
            worst = max(worst, error)
            worstMerged = max(worstMerged, errorMerged)
            var runs = "–"
            if integers {
                var checked = 0, exact = 0
                for step in 1...999 {
                    let q = Double(step) / 1_000
                    let value = sorted[Int(q * Double(sorted.count))]
                    guard upperBound(sorted, value) - lowerBound(sorted, value) >= sorted.count / 100 else { continue }
                    checked += 1
                    if built.quantile(q) == value { exact += 1 }
                }
                runs = "\(exact)/\(checked)"
            }
            print(pad(label, 22) + pad("\(fmt(errorBefore * 100, 2)) \(before.serialized().count) B", 22)
                  + pad("\(fmt(error * 100, 2)) (q \(at)) \(built.compactSerialized().count) B", 28)
                  + pad("\(fmt(errorMerged * 100, 2)) \(merged.compactSerialized().count) B", 18) + runs)
        }
        print("worst: \(fmt(worst * 100, 2)) % built, \(fmt(worstMerged * 100, 2)) % merged (goal ≤ 1 %)\n")
    }

    /// `digest` as a reader of a version-2 snapshot gets it (SNAPSHOT.md, "t-digest bytes, compact").
    static func throughSnapshot(_ digest: TDigest) throws -> TDigest {
        try TDigest(compactSerialized: digest.compactSerialized(), compression: digest.compression, scale: digest.scale,
                    meanKeyBits: TDigest.compactMeanKeyBits)
    }

    /// `data` through a front end as a busy series feeds it, sealed.
    static func sealed(_ data: [Double], integers: Bool) -> TDigest {
        var frontEnd = HistogramFrontEnd(integers ? .integer : .float)
        var digest = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
        var allowance = HistogramAllowance(bytes: 1 << 20, bucketing: false)
        for (i, x) in data.enumerated() {
            if i == 64 {
                allowance.bucketing = true
                HistogramFrontEnd.prepare(&digest)
            }
            if integers { frontEnd.insert(integer: UInt32(x), digest: &digest, allowance: &allowance) }
            else { frontEnd.insert(x, digest: &digest, allowance: &allowance) }
        }
        defer { frontEnd.release() }
        return frontEnd.sealed(digest)
    }
}
