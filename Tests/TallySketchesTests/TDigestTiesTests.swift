import Testing
import TallySynthetic
@testable import TallySketches

/// Quantiles on data with many equal values: a rank inside a run of equal values
/// answers that value, not an interpolation between runs (issue 16, "Ties").
@Suite struct TDigestTiesTests {
    /// For every q in 0.001 … 0.999 (step 0.001) whose exact order statistic belongs to a
    /// run of at least `minimumRun` of the n values: the values it answered wrongly.
    static func misses(_ digest: TDigest, _ sorted: [Double], minimumRun: Int) -> (checked: Int, wrong: [String]) {
        var checked = 0
        var wrong: [String] = []
        for step in 1...999 {
            let q = Double(step) / 1_000
            let exact = sorted[Int(q * Double(sorted.count))]
            let run = upperBoundIndex(sorted, exact) - lowerBoundIndex(sorted, exact)
            guard run >= minimumRun else { continue }
            checked += 1
            let answer = digest.quantile(q)
            if answer != exact { wrong.append("q=\(q): \(answer) for \(exact) (run \(run))") }
        }
        return (checked, wrong)
    }

    static func lowerBoundIndex(_ a: [Double], _ x: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi { let mid = (lo + hi) / 2; if a[mid] < x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    static func upperBoundIndex(_ a: [Double], _ x: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi { let mid = (lo + hi) / 2; if a[mid] <= x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// Runs of ≥ 2 % of the values are always kept whole (a centroid holds at most
    /// 4 %/δ·100 of them, and a run of half that is kept); the digest is checked as built,
    /// after serialization, and merged from 20 parts.
    @Test(arguments: TiedData.suite.map(\.name))
    func aRankInsideARunAnswersItsValue(name: String) throws {
        let data = TiedData.suite.first { $0.name == name }!.data.values(100_000, seed: 11)
        let sorted = data.sorted()
        var digest = TDigest()
        for x in data { digest.insert(x) }
        let restored = try TDigest(serialized: digest.serialized())
        var parts: [TDigest] = []
        for part in 0..<20 {
            var d = TDigest()
            for x in data[(part * 5_000)..<((part + 1) * 5_000)] { d.insert(x) }
            parts.append(try TDigest(serialized: d.serialized()))
        }
        let merged = try TDigest.merged(parts)
        for (label, d) in [("built", digest), ("serialized", restored), ("merged", merged)] {
            let (checked, wrong) = Self.misses(d, sorted, minimumRun: 2_000)
            #expect(checked > 0, "\(name): no q falls in a run of ≥ 2 %")
            let wrongCount = wrong.count
            #expect(wrongCount == 0, "\(name) \(label): \(wrong.prefix(5))")
        }
        // The tie rule costs centroids only for runs; the digest stays small.
        #expect(digest.serialized().count <= 1_536, "\(name): \(digest.serialized().count) B")
    }

    /// Capped lengths: every q above the share below the cap answers the cap itself.
    @Test func cappedLengthsAnswerTheCap() throws {
        let data = TiedData.cappedLognormal(mu: 6, sigma: 1.2, cap: 1_024).values(50_000, seed: 3)
        let belowCap = data.filter { $0 < 1_024 }.count
        var digest = TDigest()
        for x in data { digest.insert(x) }
        let firstCapped = Double(belowCap + 1) / Double(data.count)
        #expect(belowCap < 45_000 && belowCap > 25_000, "the data set has a large capped run: \(belowCap)")
        for step in 0...200 {
            let q = firstCapped + (1 - firstCapped) * Double(step) / 200
            #expect(digest.quantile(Swift.min(q, 1)) == 1_024, "q=\(q)")
        }
    }

    /// The rule keys on equal means only: continuous data (no ties) keeps its centroid
    /// count and its accuracy.
    @Test func continuousDataIsUnaffected() throws {
        let data = sample(.lognormal(mu: 0, sigma: 1), 100_000, seed: 5)
        var digest = TDigest()
        for x in data { digest.insert(x) }
        digest.compress()
        // 247 centroids before the tie rule (same data, same seed).
        #expect(digest.centroids.count <= 250, "\(digest.centroids.count) centroids")
        #expect(digest.centroids.allSatisfy { $0.weight >= 1 })
        #expect(digest.centroids.reduce(0) { $0 + UInt64($1.weight) } == 100_000)
    }

    /// A run is kept as single value, rest, single value; merging such digests keeps the
    /// shape and the exact total weight, also when the run holds most of the values.
    @Test func runsKeepTheirShapeThroughMerges() throws {
        var a = TDigest(), b = TDigest()
        for i in 0..<10_000 { a.insert(i % 10 < 7 ? 5 : Double(i % 1_000)) }
        for i in 0..<10_000 { b.insert(i % 10 < 5 ? 5 : Double(1_000 + i % 1_000)) }
        let merged = try TDigest.merged([a, b])
        let fives = merged.centroids.filter { $0.mean == 5 }
        #expect(fives.count >= 3)
        #expect(fives.first?.weight == 1 && fives.last?.weight == 1)
        #expect(fives.reduce(0) { $0 + UInt64($1.weight) } >= 12_000)
        #expect(merged.centroids.reduce(0) { $0 + UInt64($1.weight) } == 20_000)
        // Ranks 0 … 11,999 of the 20,000 are the fives (every other value is ≥ 7).
        for step in 0...599 { #expect(merged.quantile(Double(step) / 1_000) == 5, "q=\(Double(step) / 1_000)") }
        #expect(merged.quantile(0.6005) > 5)
    }
}
