import ArgumentParser
import TallySketches
import TallySynthetic

/// The full-size accuracy measurement of issue 3: t-digest rank and value errors on
/// 10^6 values of five distributions, merged digests, and HyperLogLog error over
/// many trials. Prints the measured table next to the goals.
struct AccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accuracy", abstract: "Measure sketch accuracy against exact answers (slow: run in release).")

    @Option(help: "Values per distribution for the t-digest.") var values = 1_000_000
    @Option(help: "t-digest compression δ.") var compression = TDigest.defaultCompression
    @Option(help: "t-digest scale function: k1, k2, k3, k2t or k2t-relative.") var scale = "k2t"
    @Option(help: "t-digest buffer (0 = default).") var buffer = 0
    @Option(help: "HyperLogLog trials.") var trials = 1_000
    @Option(help: "HyperLogLog largest distinct count per trial.") var maxDistinct = 1_000_000
    @Flag(help: "Only the t-digest part.") var digestOnly = false
    @Flag(help: "Only the HyperLogLog part.") var hllOnly = false
    @Flag(help: "Only the aggregation core's per-series distributions (histogram front end, k2t-relative).")
    var seriesOnly = false

    func run() throws {
        if seriesOnly {
            return try SeriesAccuracyReport(counts: [1_000, 10_000, Swift.min(values, 100_000)]).run()
        }
        if !hllOnly {
            try digestReport()
            try tiedReport()
        }
        if !digestOnly { HLLReport(trials: trials, maxDistinct: maxDistinct).run() }
    }

    func digestReport() throws {
        guard let scale = ["k1": TDigestScale.k1, "k2": .k2, "k3": .k3, "k2t": .k2t, "k2t-relative": .k2tRelative][scale] else {
            throw ValidationError("unknown scale \(self.scale)")
        }
        let quantiles = [0.5, 0.9, 0.99, 0.999, 0.9999]
        var worstRank = [Double](repeating: 0, count: quantiles.count)
        var worstMergedRank = worstRank
        var worstValue = [Double](repeating: 0, count: quantiles.count)
        var worstSize = 0, worstMergedSize = 0
        print("t-digest: δ=\(compression) \(scale) buffer=\(buffer == 0 ? 5 * compression : buffer), n=\(values) per distribution")
        print(pad("distribution", 14) + pad("bytes", 7) + quantiles.map { pad("q\($0)", 9) }.joined()
              + "  | merged 100×: bytes, ppm at the same q | value error % (q ≤ .999)")
        for (index, (name, distribution)) in Distribution.accuracySuite.enumerated() {
            var rng = SplitMix64(seed: 1_000 + UInt64(index))
            let data = (0..<values).map { _ in distribution.sample(&rng) }
            var digest = TDigest(compression: compression, scale: scale, bufferCapacity: buffer == 0 ? nil : buffer)
            for x in data { digest.insert(x) }
            let sorted = data.sorted()
            let size = digest.serialized().count
            let restored = try TDigest(serialized: digest.serialized())
            let ranks = quantiles.map { rankErrorPPM(restored.quantile($0), $0, sorted) }
            let valueErrors = quantiles.map { q in
                let exact = sorted[Swift.min(Int(q * Double(sorted.count)), sorted.count - 1)]
                return abs(restored.quantile(q) - exact) / abs(exact) * 100
            }
            // 100 digests of n/100 values each, merged at once.
            let parts = (0..<100).map { part in
                var d = TDigest(compression: compression, scale: scale, bufferCapacity: buffer == 0 ? nil : buffer)
                for x in data[(part * values / 100)..<((part + 1) * values / 100)] { d.insert(x) }
                return try! TDigest(serialized: d.serialized())
            }
            let merged = try TDigest.merged(parts)
            let mergedSize = merged.serialized().count
            let mergedRanks = quantiles.map { rankErrorPPM(merged.quantile($0), $0, sorted) }
            print(pad(name, 14) + pad("\(size)", 7) + ranks.map { pad(fmt($0, 1), 9) }.joined()
                  + "  | \(mergedSize) " + mergedRanks.map { fmt($0, 1) }.joined(separator: " ")
                  + " | " + valueErrors.prefix(4).map { fmt($0, 3) }.joined(separator: " "))
            for i in quantiles.indices {
                worstRank[i] = Swift.max(worstRank[i], ranks[i])
                worstMergedRank[i] = Swift.max(worstMergedRank[i], mergedRanks[i])
                // The bimodal q = .9 falls in the empty gap between the modes (see report).
                if !(name == "bimodal" && quantiles[i] == 0.9) && quantiles[i] <= 0.999 {
                    worstValue[i] = Swift.max(worstValue[i], valueErrors[i])
                }
            }
            worstSize = Swift.max(worstSize, size)
            worstMergedSize = Swift.max(worstMergedSize, mergedSize)
        }
        let goals = [1_500.0, 800, 90, 12, 3], mergedGoals = [2_250.0, 900, 45, 5, 5]
        print("")
        print("| | measured (worst distribution) | goal |")
        print("|---|---|---|")
        print("| t-digest size after 10^6 values | \(worstSize) B | ≤ 1,024 B |")
        print("| rank error q = .5/.9/.99/.999/.9999 (ppm) | \(worstRank.map { fmt($0, 1) }.joined(separator: " / ")) | "
              + goals.map { fmt($0, 0) }.joined(separator: " / ") + " |")
        print("| relative value error, q ≤ .999 (bimodal q=.9 excepted) | \(fmt(worstValue.max()!, 3)) % | ≤ 0.45 % |")
        print("| merge of 100 digests: size | \(worstMergedSize) B | ≤ 1,024 B |")
        print("| merge of 100 digests: rank error (ppm) | \(worstMergedRank.map { fmt($0, 1) }.joined(separator: " / ")) | "
              + mergedGoals.map { fmt($0, 0) }.joined(separator: " / ") + " |")
        print("")
    }

    /// Data with many equal values (``TiedData``): for every q in 0.001 … 0.999 (step
    /// 0.001), whether a rank inside a run of equal values answers that value, by run
    /// size; and the worst relative value error at q in [0.01, 0.999].
    func tiedReport() throws {
        guard let scale = ["k1": TDigestScale.k1, "k2": .k2, "k3": .k3, "k2t": .k2t, "k2t-relative": .k2tRelative][scale] else {
            throw ValidationError("unknown scale \(self.scale)")
        }
        print("t-digest on tied data: n=\(values); q = 0.001 … 0.999 by 0.001 whose exact value is a run of")
        print("≥ 1 % / ≥ 0.1 % / ≥ 2 values: answered exactly (of those q); worst value error at q in [.01, .999]")
        print(pad("data set", 15) + pad("bytes", 7) + pad("≥1 %", 12) + pad("≥0.1 %", 12) + pad("≥2", 12)
              + pad("value err %", 12) + "| merged 100×: ≥1 %, ≥0.1 %, value err %")
        for (index, (name, tied)) in TiedData.suite.enumerated() {
            let data = tied.values(values, seed: 2_000 + UInt64(index))
            let sorted = data.sorted()
            var digest = TDigest(compression: compression, scale: scale, bufferCapacity: buffer == 0 ? nil : buffer)
            for x in data { digest.insert(x) }
            let restored = try TDigest(serialized: digest.serialized())
            let parts = (0..<100).map { part in
                var d = TDigest(compression: compression, scale: scale, bufferCapacity: buffer == 0 ? nil : buffer)
                for x in data[(part * values / 100)..<((part + 1) * values / 100)] { d.insert(x) }
                return try! TDigest(serialized: d.serialized())
            }
            let merged = try TDigest.merged(parts)
            let one = tiedScores(restored, sorted), many = tiedScores(merged, sorted)
            print(pad(name, 15) + pad("\(digest.serialized().count)", 7) + one.exact.map { pad($0, 12) }.joined()
                  + pad(fmt(one.valueError, 3), 12) + "| " + many.exact.prefix(2).joined(separator: ", ")
                  + ", " + fmt(many.valueError, 3))
        }
        print("")
    }

    /// "exact/of" for runs of ≥ 1 %, ≥ 0.1 % and ≥ 2 values, and the worst relative value error.
    func tiedScores(_ digest: TDigest, _ sorted: [Double]) -> (exact: [String], valueError: Double) {
        let n = sorted.count
        let thresholds = [Swift.max(2, n / 100), Swift.max(2, n / 1_000), 2]
        var hits = [Int](repeating: 0, count: 3), totals = hits
        var worst = 0.0
        for step in 1...999 {
            let q = Double(step) / 1_000
            let exact = sorted[Int(q * Double(n))]
            let answer = digest.quantile(q)
            if q >= 0.01 && exact != 0 { worst = Swift.max(worst, abs(answer - exact) / abs(exact) * 100) }
            let run = upperBound(sorted, exact) - lowerBound(sorted, exact)
            for (i, threshold) in thresholds.enumerated() where run >= threshold {
                totals[i] += 1
                if answer == exact { hits[i] += 1 }
            }
        }
        return (zip(hits, totals).map { "\($0)/\($1)" }, worst)
    }

    /// |rank(estimate) − q| in ppm, with rank as the midpoint of the values tied at it.
    func rankErrorPPM(_ estimate: Double, _ q: Double, _ sorted: [Double]) -> Double {
        let below = lowerBound(sorted, estimate), atOrBelow = upperBound(sorted, estimate)
        let rank = (Double(below) + Double(atOrBelow)) / 2 / Double(sorted.count)
        return abs(rank - q) * 1e6
    }
}

func lowerBound(_ a: [Double], _ x: Double) -> Int {
    var lo = 0, hi = a.count
    while lo < hi { let mid = (lo + hi) / 2; if a[mid] < x { lo = mid + 1 } else { hi = mid } }
    return lo
}

func upperBound(_ a: [Double], _ x: Double) -> Int {
    var lo = 0, hi = a.count
    while lo < hi { let mid = (lo + hi) / 2; if a[mid] <= x { lo = mid + 1 } else { hi = mid } }
    return lo
}

func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

func fmt(_ x: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (x * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}
