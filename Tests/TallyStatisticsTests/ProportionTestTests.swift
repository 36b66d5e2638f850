import Testing
import TallyStatistics

@Suite struct ProportionTestTests {
    /// 45/100 against 30/100, by hand: pooled p = 75/200 = 0.375,
    /// SE = √(0.375 · 0.625 · (1/100 + 1/100)) = 0.068465, z = 0.15/0.068465 = 2.19089,
    /// two-sided p = 2·(1 − Φ(2.19089)) = 0.028460.
    @Test func textbookExample() throws {
        let test = try #require(ProportionTest.compare(successes: 45, of: 100, versus: 30, of: 100))
        #expect(test.rateA == 0.45)
        #expect(test.rateB == 0.30)
        #expect(abs(test.difference - 0.15) < 1e-15)
        #expect(abs(test.ratio - 1.5) < 1e-15)
        #expect(abs(test.z - 2.190_890_230) < 1e-8)
        #expect(abs(test.pValue - 0.028_459_737) < 1e-8)
        #expect(!test.isExact)
        #expect(abs(test.oneSidedPValue(aHigher: true) - 0.028_459_737 / 2) < 1e-8)
        #expect(abs(test.oneSidedPValue(aHigher: false) - (1 - 0.028_459_737 / 2)) < 1e-8)
    }

    /// An expected cell below 5 switches every p-value to Fisher's exact test: 3 of 40
    /// against 1 of 40 expects 2 successes a side.
    @Test func smallCountsAreTestedExactly() throws {
        let test = try #require(ProportionTest.compare(successes: 3, of: 40, versus: 1, of: 40))
        #expect(test.isExact)
        #expect(test.pValue == FisherExactTest.twoSided(successes: 3, of: 40, versus: 1, of: 40))
        #expect(test.oneSidedPValue(aHigher: true) == FisherExactTest.upperTail(successes: 3, of: 40, versus: 1, of: 40))
        #expect(test.oneSidedPValue(aHigher: false) == FisherExactTest.lowerTail(successes: 3, of: 40, versus: 1, of: 40))
        #expect(test.pValue > StandardNormal.twoSidedPValue(z: test.z))
        // 5 expected a side is the boundary: 6 of 100 against 4 of 100 → normal (p 0.5).
        #expect(try #require(ProportionTest.compare(successes: 6, of: 100, versus: 4, of: 100)).isExact == false)
        #expect(try #require(ProportionTest.compare(successes: 5, of: 100, versus: 4, of: 100)).isExact)
        // Past it, a far-tail z (two-sided p < 0.01) with under 1,000 expected is exact too.
        let farTail = try #require(ProportionTest.compare(successes: 10, of: 100, versus: 0, of: 100))
        #expect(farTail.isExact && StandardNormal.twoSidedPValue(z: farTail.z) < 0.01)
        #expect(farTail.pValue == FisherExactTest.twoSided(successes: 10, of: 100, versus: 0, of: 100))
        #expect(try #require(ProportionTest.compare(successes: 3_000, of: 10_000, versus: 2_000, of: 10_000)).isExact == false)
    }

    @Test func swappingSidesNegatesZ() throws {
        let forward = try #require(ProportionTest.compare(successes: 45, of: 100, versus: 30, of: 100))
        let backward = try #require(ProportionTest.compare(successes: 30, of: 100, versus: 45, of: 100))
        #expect(backward.z == -forward.z)
        #expect(backward.pValue == forward.pValue)
    }

    @Test func degenerateRates() throws {
        let zeroB = try #require(ProportionTest.compare(successes: 3, of: 10, versus: 0, of: 10))
        #expect(zeroB.ratio == .infinity)
        #expect(zeroB.z > 0)
        let bothZero = try #require(ProportionTest.compare(successes: 0, of: 10, versus: 0, of: 20))
        #expect(bothZero.ratio.isNaN)
        #expect(bothZero.z == 0)
        #expect(bothZero.pValue == 1)
        let bothOne = try #require(ProportionTest.compare(successes: 10, of: 10, versus: 20, of: 20))
        #expect(bothOne.z == 0 && bothOne.pValue == 1)
    }

    @Test func badInputIsNil() {
        #expect(ProportionTest.compare(successes: 0, of: 0, versus: 1, of: 2) == nil)
        #expect(ProportionTest.compare(successes: 1, of: 2, versus: 0, of: 0) == nil)
        #expect(ProportionTest.compare(successes: 3, of: 2, versus: 1, of: 2) == nil)
    }

    /// 10, 20, 30 successes of 100 each, by hand: pooled rate 0.2, so 20 successes and
    /// 80 failures expected per group; χ² = (10² + 0 + 10²)/20 + (10² + 0 + 10²)/80
    /// = 10 + 2.5 = 12.5 on 2 df; p = e^(−12.5/2) = 0.0019305.
    @Test func homogeneityOfThreeGroups() throws {
        let test = try #require(ProportionTest.chiSquareHomogeneity(successes: [10, 20, 30], totals: [100, 100, 100]))
        #expect(abs(test.statistic - 12.5) < 1e-12)
        #expect(test.degreesOfFreedom == 2)
        #expect(abs(test.pValue - 0.001_930_454_136) < 1e-11)
    }

    @Test func homogeneityOfTwoGroupsIsZSquared() throws {
        let test = try #require(ProportionTest.chiSquareHomogeneity(successes: [45, 30, 0], totals: [100, 100, 0]))
        let z = try #require(ProportionTest.compare(successes: 45, of: 100, versus: 30, of: 100)).z
        #expect(test.degreesOfFreedom == 1)
        #expect(abs(test.statistic - z * z) < 1e-12)
        #expect(abs(test.pValue - 0.028_459_737) < 1e-8)
    }

    @Test func homogeneityBadInput() throws {
        #expect(ProportionTest.chiSquareHomogeneity(successes: [1, 2], totals: [10, 0]) == nil)
        #expect(ProportionTest.chiSquareHomogeneity(successes: [], totals: []) == nil)
        #expect(ProportionTest.chiSquareHomogeneity(successes: [1, 2], totals: [10]) == nil)
        #expect(ProportionTest.chiSquareHomogeneity(successes: [11, 2], totals: [10, 10]) == nil)
        let none = try #require(ProportionTest.chiSquareHomogeneity(successes: [0, 0], totals: [10, 20]))
        #expect(none.statistic == 0 && none.pValue == 1)
    }
}
