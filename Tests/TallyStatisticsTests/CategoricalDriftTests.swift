import Testing
import TallyStatistics

@Suite struct CategoricalDriftTests {
    @Test func jensenShannonBounds() throws {
        let histogram: [UInt16: UInt64] = [1: 10, 2: 30, 7: 60]
        #expect(try #require(CategoricalDrift.jensenShannonDistance(histogram, histogram)) == 0)
        // Same shares at a different scale.
        #expect(try #require(CategoricalDrift.jensenShannonDistance(histogram, [1: 1, 2: 3, 7: 6])) < 1e-7)
        #expect(try #require(CategoricalDrift.jensenShannonDistance([1: 5, 2: 5], [3: 4])) == 1)
        #expect(try #require(CategoricalDrift.jensenShannonDistance([1: 5], [1: 0], currentOther: 8)) == 1)
    }

    /// P = (½, ½), Q = (1, 0), by hand: M = (¾, ¼);
    /// KL(P‖M) = ½·log₂(⅔) + ½·log₂(2) = 0.2075187, KL(Q‖M) = log₂(4/3) = 0.4150375;
    /// JSD = (0.2075187 + 0.4150375)/2 = 0.3112781, distance √JSD = 0.5579230.
    @Test func jensenShannonHandComputed() throws {
        let distance = try #require(CategoricalDrift.jensenShannonDistance([4: 50, 9: 50], [4: 20]))
        #expect(abs(distance - 0.557_923_045_284) < 1e-11)
        let viaOther = try #require(CategoricalDrift.jensenShannonDistance([4: 50], [4: 20], baselineOther: 50))
        #expect(abs(viaOther - distance) < 1e-15)
    }

    /// Shares (.25, .25, .5) against (.2, .3, .5): 0.0202733 either way round
    /// (the hand computation in PopulationStabilityIndexTests).
    @Test func psiIsSymmetric() throws {
        let a: [UInt16: UInt64] = [1: 25, 2: 25, 3: 50], b: [UInt16: UInt64] = [1: 40, 2: 60, 3: 100]
        let forward = try #require(CategoricalDrift.psi(expected: a, actual: b))
        let backward = try #require(CategoricalDrift.psi(expected: b, actual: a))
        #expect(abs(forward - 0.020_273_255_405) < 1e-11)
        #expect(abs(forward - backward) < 1e-15)
        let withOther = try #require(CategoricalDrift.psi(expected: [1: 25, 2: 25], actual: [1: 40, 2: 60],
                                                          expectedOther: 50, actualOther: 100))
        #expect(abs(withOther - forward) < 1e-15)
    }

    /// Baseline (20, 30, 50) against current (30, 30, 40), by hand: column totals 50, 60,
    /// 90 of 200, so 25, 30, 45 expected in each row;
    /// χ² = 2·(5²/25 + 0/30 + 5²/45) = 3.111111 on 2 df; p = e^(−3.111111/2) = 0.2110721.
    @Test func chiSquareTwoByThree() throws {
        let test = try #require(CategoricalDrift.chiSquare([1: 20, 2: 30, 3: 50], [1: 30, 2: 30, 3: 40]))
        #expect(abs(test.statistic - 28.0 / 9) < 1e-12)
        #expect(test.degreesOfFreedom == 2)
        #expect(abs(test.pValue - 0.211_072_087_791) < 1e-11)
        // A category absent from the baseline still counts; one absent from both does not.
        let sparse = try #require(CategoricalDrift.chiSquare([1: 20, 2: 30, 5: 0], [1: 30, 9: 5]))
        #expect(sparse.degreesOfFreedom == 2)
    }

    @Test func badInput() {
        #expect(CategoricalDrift.psi(expected: [:], actual: [1: 3]) == nil)
        #expect(CategoricalDrift.psi(expected: [1: 3], actual: [1: 0]) == nil)
        #expect(CategoricalDrift.psi(expected: [1: 3], actual: [1: 3], epsilon: 0) == nil)
        #expect(CategoricalDrift.jensenShannonDistance([:], [:]) == nil)
        #expect(CategoricalDrift.jensenShannonDistance([1: 1], [:]) == nil)
        #expect(CategoricalDrift.chiSquare([1: 5], [1: 7]) == nil)  // one category
        #expect(CategoricalDrift.chiSquare([1: 5, 2: 1], [:]) == nil)
        #expect(CategoricalDrift.chiSquare([:], [:]) == nil)
    }
}

@Suite struct DriftNoiseFloorTests {
    /// c(0.01) = √(−ln(0.005)/2) = 1.627624; ·√(2/n) + 0.006:
    /// n = m = 1,000: 0.078790; n = m = 10,000: 0.029018.
    @Test func ksFloor() {
        #expect(abs(DriftNoiseFloor.ks(n: 1_000, m: 1_000) - 0.078_789_54) < 1e-7)
        #expect(abs(DriftNoiseFloor.ks(n: 10_000, m: 10_000) - 0.029_018_07) < 1e-7)
        #expect(DriftNoiseFloor.ks(n: 10_000, m: 10_000, rankError: 0) < DriftNoiseFloor.ks(n: 10_000, m: 10_000))
        #expect(DriftNoiseFloor.ks(n: 0, m: 10) == .infinity)
        #expect(DriftNoiseFloor.ks(n: 10, m: 10, alpha: 0).isNaN)
    }

    /// χ²₀.₉₉(9) = 21.665994; ·(2/n) + 10²·(2·0.003)² = … + 0.0036:
    /// n = m = 1,000: 0.046932; n = m = 10,000: 0.007933.
    @Test func psiFloor() {
        #expect(DriftNoiseFloor.digestRankError == 0.003)
        #expect(abs(DriftNoiseFloor.psi(bins: 10, n: 1_000, m: 1_000) - 0.046_931_99) < 1e-7)
        #expect(abs(DriftNoiseFloor.psi(bins: 10, n: 10_000, m: 10_000) - 0.007_933_20) < 1e-7)
        #expect(DriftNoiseFloor.psi(bins: 10, n: 10_000, m: 10_000) < 0.1)
        #expect(abs(DriftNoiseFloor.categoricalPSI(categories: 10, n: 10_000, m: 10_000) - 0.004_333_20) < 1e-7)
        #expect(DriftNoiseFloor.psi(bins: 1, n: 10, m: 10).isNaN)
        #expect(DriftNoiseFloor.categoricalPSI(categories: 3, n: 10, m: 0) == .infinity)
    }
}
