#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import TallyStatistics

// Reference values from scipy.stats 1.17 (norm, chi2), computed outside this package.
@Suite struct StandardNormalTests {
    @Test func cdfMatchesTable() {
        #expect(abs(StandardNormal.cdf(1.96) - 0.975_002_104_851_780) < 1e-12)
        #expect(StandardNormal.cdf(0) == 0.5)
        #expect(abs(StandardNormal.cdf(-1.96) - (1 - 0.975_002_104_851_780)) < 1e-12)
    }

    @Test func twoSidedPValueIsBothTails() {
        #expect(abs(StandardNormal.twoSidedPValue(z: 1.96) - 0.049_995_790_296_44) < 1e-10)
        #expect(StandardNormal.twoSidedPValue(z: -1.96) == StandardNormal.twoSidedPValue(z: 1.96))
        #expect(StandardNormal.twoSidedPValue(z: 0) == 1)
    }

    @Test func quantileMatchesTable() {
        #expect(abs(StandardNormal.quantile(0.975) - 1.959_963_984_540_054) < 1e-9)
        #expect(abs(StandardNormal.quantile(0.01) - -2.326_347_874_040_841) < 1e-9)
        #expect(abs(StandardNormal.quantile(1e-10) - -6.361_340_902_404_056) < 1e-7)
        #expect(StandardNormal.quantile(0.5) == 0)
    }

    @Test(arguments: [1e-12, 1e-5, 0.001, 0.02, 0.0243, 0.1, 0.3, 0.5, 0.77, 0.975, 0.9758, 0.999])
    func quantileInvertsCDF(p: Double) {
        #expect(abs(StandardNormal.cdf(StandardNormal.quantile(p)) - p) <= 1e-12 * Swift.max(p, 1e-3))
    }

    @Test func badInput() {
        #expect(StandardNormal.quantile(0) == -.infinity)
        #expect(StandardNormal.quantile(1) == .infinity)
        #expect(StandardNormal.quantile(1.5).isNaN)
        #expect(StandardNormal.quantile(-0.1).isNaN)
        #expect(StandardNormal.quantile(.nan).isNaN)
        #expect(StandardNormal.cdf(.nan).isNaN)
    }
}

@Suite struct ChiSquareTests {
    @Test func survivalAtCriticalValues() {
        // χ²₀.₉₅ for 1 and 5 degrees of freedom (tables: 3.841459, 11.0705).
        #expect(abs(ChiSquare.survival(3.841_459, degreesOfFreedom: 1) - 0.05) < 1e-7)
        #expect(abs(ChiSquare.survival(11.0705, degreesOfFreedom: 5) - 0.05) < 1e-6)
        // Large df: χ²₀.₉₅(100) = 124.342 (scipy: survival 0.0500007158).
        #expect(abs(ChiSquare.survival(124.342, degreesOfFreedom: 100) - 0.050_000_715_77) < 1e-9)
    }

    @Test func survivalOnBothBranches() {
        // x/2 < a + 1 (series) and beyond (continued fraction); scipy chi2.sf.
        #expect(abs(ChiSquare.survival(0.5, degreesOfFreedom: 3) - 0.918_891_411_654_676) < 1e-12)
        #expect(abs(ChiSquare.survival(2, degreesOfFreedom: 1) - 0.157_299_207_050_281) < 1e-12)
        #expect(abs(ChiSquare.survival(40, degreesOfFreedom: 10) / 1.694_474_393_006_737e-05 - 1) < 1e-9)
        // df = 2 has the closed form e^(−x/2).
        for x in [0.1, 1.0, 7.5, 30.0] {
            #expect(abs(ChiSquare.survival(x, degreesOfFreedom: 2) - exp(-x / 2)) < 1e-13)
        }
    }

    @Test func survivalAtZeroIsOne() {
        for k in [1, 2, 9, 100] { #expect(ChiSquare.survival(0, degreesOfFreedom: k) == 1) }
    }

    @Test func quantileInvertsSurvival() {
        #expect(abs(ChiSquare.quantile(0.99, degreesOfFreedom: 9) - 21.665_994_333_461_924) < 1e-8)
        #expect(abs(ChiSquare.quantile(0.95, degreesOfFreedom: 100) - 124.342_113_404_004) < 1e-7)
        #expect(abs(ChiSquare.quantile(0.99, degreesOfFreedom: 1) - 6.634_896_601_021_215) < 1e-8)
    }

    @Test func badInput() {
        #expect(ChiSquare.survival(3, degreesOfFreedom: 0).isNaN)
        #expect(ChiSquare.survival(.nan, degreesOfFreedom: 3).isNaN)
        #expect(ChiSquare.survival(.infinity, degreesOfFreedom: 3) == 0)
        #expect(ChiSquare.quantile(1.2, degreesOfFreedom: 3).isNaN)
        #expect(ChiSquare.quantile(0.5, degreesOfFreedom: -1).isNaN)
        #expect(ChiSquare.quantile(1, degreesOfFreedom: 3) == .infinity)
    }
}
