import Testing
import TallyStatistics
import TallySynthetic

@Suite struct FisherExactTestTests {
    /// Fisher's tea tasting, 3 of 4 against 1 of 4: N = 8, K = 4, n = 4, so
    /// P(X = 0…4) = 1, 16, 36, 16, 1 (÷ 70). P(X ≥ 3) = 17/70, P(X ≤ 3) = 69/70,
    /// two-sided = (1 + 16 + 16 + 1)/70 = 34/70 (R: fisher.test gives 0.4857).
    @Test func teaTasting() {
        #expect(abs(FisherExactTest.upperTail(successes: 3, of: 4, versus: 1, of: 4) - 17.0 / 70) < 1e-12)
        #expect(abs(FisherExactTest.lowerTail(successes: 3, of: 4, versus: 1, of: 4) - 69.0 / 70) < 1e-12)
        #expect(abs(FisherExactTest.twoSided(successes: 3, of: 4, versus: 1, of: 4) - 34.0 / 70) < 1e-12)
        #expect(abs(FisherExactTest.twoSided(successes: 2, of: 4, versus: 2, of: 4) - 1) < 1e-12)
    }

    /// 4 of 100 against 0 of 400: all 4 successes fell in A, P = C(100, 4)/C(500, 4)
    /// = 94,109,400/61,752,747,000 = 0.00152397.
    @Test func allSuccessesOnOneSide() {
        let p = FisherExactTest.upperTail(successes: 4, of: 100, versus: 0, of: 400)
        #expect(abs(p - 0.001_523_971_071) < 1e-11)
        #expect(FisherExactTest.lowerTail(successes: 0, of: 400, versus: 4, of: 100) == p)
        #expect(FisherExactTest.lowerTail(successes: 4, of: 100, versus: 0, of: 400) == 1)
        // The z-test on the same table claims ~50 times more significance.
        let z = ProportionTest.compare(successes: 4, of: 100, versus: 0, of: 400)!.z
        #expect(1 - StandardNormal.cdf(z) < p / 30)
    }

    /// Sums over the whole support by brute force (exact binomials as doubles) agree
    /// with the walks, on both tails and two-sided, for every a of some small tables.
    @Test func agreesWithBruteForceSums() {
        func choose(_ n: Int, _ k: Int) -> Double {
            guard k >= 0, k <= n else { return 0 }
            var r = 1.0
            for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
            return r
        }
        for (n, m, k) in [(10, 30, 6), (50, 50, 7), (7, 200, 40), (120, 90, 200), (300, 20, 5)] {
            let total = choose(n + m, k)
            let pmf = (0...k).map { x in choose(n, x) * choose(m, k - x) / total }
            for a in max(0, k - m)...min(k, n) {
                let upper = pmf[a...].reduce(0, +), lower = pmf[...a].reduce(0, +)
                let two = pmf.filter { $0 <= pmf[a] * (1 + 1e-7) }.reduce(0, +)
                let u64 = UInt64(a), b = UInt64(k - a)
                let tolerance = 1e-9
                #expect(abs(FisherExactTest.upperTail(successes: u64, of: UInt64(n), versus: b, of: UInt64(m)) - min(1, upper)) < tolerance,
                        "n \(n) m \(m) K \(k) a \(a)")
                #expect(abs(FisherExactTest.lowerTail(successes: u64, of: UInt64(n), versus: b, of: UInt64(m)) - min(1, lower)) < tolerance,
                        "n \(n) m \(m) K \(k) a \(a)")
                #expect(abs(FisherExactTest.twoSided(successes: u64, of: UInt64(n), versus: b, of: UInt64(m)) - min(1, two)) < tolerance,
                        "n \(n) m \(m) K \(k) a \(a)")
            }
        }
    }

    /// Far tails of large tables are tiny but not NaN, and the side towards the mode is
    /// 1 − tiny. (log C(2·10⁶, 1000) by `lgamma` is good to ~10⁻⁸ relative at this size.)
    @Test func largeTablesStayFinite() {
        let far = FisherExactTest.upperTail(successes: 900, of: 1_000_000, versus: 100, of: 1_000_000)
        #expect(far >= 0 && far < 1e-100)
        let near = FisherExactTest.lowerTail(successes: 900, of: 1_000_000, versus: 100, of: 1_000_000)
        #expect(near == 1)
        let middle = FisherExactTest.twoSided(successes: 500, of: 1_000_000, versus: 500, of: 1_000_000)
        #expect(abs(middle - 1) < 1e-7)
    }

    @Test func badTablesAreNaN() {
        #expect(FisherExactTest.upperTail(successes: 5, of: 4, versus: 0, of: 4).isNaN)
        #expect(FisherExactTest.lowerTail(successes: 0, of: 0, versus: 0, of: 4).isNaN)
        #expect(FisherExactTest.twoSided(successes: 0, of: 4, versus: 5, of: 4).isNaN)
    }

    /// Rare events under the null (rate 0.5 % in both, 100 against 400 trials, the
    /// shape of a canary in a short window): the test through ``ProportionTest`` rejects
    /// at most its level, where the z-test alone rejects about twice as often as its level.
    @Test func rareEventsKeepTheLevel() throws {
        var rng = SplitMix64(seed: 16)
        let trials = 20_000, level = 0.01
        var exactRejections = 0, zRejections = 0
        for _ in 0..<trials {
            let a = Self.successes(100, rate: 0.005, &rng), b = Self.successes(400, rate: 0.005, &rng)
            let test = try #require(ProportionTest.compare(successes: a, of: 100, versus: b, of: 400))
            #expect(test.isExact)
            if test.oneSidedPValue(aHigher: true) <= level { exactRejections += 1 }
            if 1 - StandardNormal.cdf(test.z) <= level { zRejections += 1 }
        }
        print("rare events at level \(level): exact rejects \(exactRejections), z-test \(zRejections) of \(trials)")
        #expect(Double(exactRejections) <= level * Double(trials))
        #expect(Double(zRejections) > 1.3 * level * Double(trials))
    }

    /// The far tail: a canary's tail share (5 % above the cut) with 227 canary and 829
    /// stable requests expects 11 and 41 hits, above the small-count rule, yet the z-test
    /// overstates significance at the levels the index decides at. Under the null the
    /// proportion test (exact there) keeps the level; the bare z-test does not.
    @Test func farTailKeepsTheLevel() throws {
        var rng = SplitMix64(seed: 227)
        let trials = 20_000, level = 0.001
        var rejections = 0, zRejections = 0, exactOnes = 0
        for _ in 0..<trials {
            let a = Self.successes(227, rate: 0.05, &rng), b = Self.successes(829, rate: 0.05, &rng)
            let test = try #require(ProportionTest.compare(successes: a, of: 227, versus: b, of: 829))
            if test.isExact { exactOnes += 1 }
            if test.oneSidedPValue(aHigher: true) <= level { rejections += 1 }
            if 1 - StandardNormal.cdf(test.z) <= level { zRejections += 1 }
        }
        print("far tail at level \(level): proportion test rejects \(rejections), bare z-test \(zRejections), exact in \(exactOnes) of \(trials)")
        #expect(Double(rejections) <= level * Double(trials))
        #expect(zRejections > rejections)
        // Only the tables near a decision pay for the exact walk.
        #expect(exactOnes > 0 && Double(exactOnes) < 0.05 * Double(trials))
    }

    /// Successes among `n` Bernoulli trials at `rate`.
    static func successes(_ n: Int, rate: Double, _ rng: inout SplitMix64) -> UInt64 {
        var hits: UInt64 = 0
        for _ in 0..<n where Double(rng.next() >> 11) * 0x1p-53 < rate { hits += 1 }
        return hits
    }
}
