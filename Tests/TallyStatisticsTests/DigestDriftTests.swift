#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TallySketches
import TallySynthetic
@testable import TallyStatistics

@Suite struct KolmogorovSmirnovTests {
    /// 20,000 values from lognormal(0, 1) and lognormal(0.1, 1): the digest distance
    /// within 0.005 of the exact one on the raw samples.
    @Test func digestDistanceMatchesExact() throws {
        let baseline = draw(.lognormal(mu: 0, sigma: 1), 20_000, seed: 11)
        let current = draw(.lognormal(mu: 0.1, sigma: 1), 20_000, seed: 12)
        let exact = exactKS(baseline, current)
        let d = try #require(DigestDrift.kolmogorovSmirnov(perSeriesDigest(baseline), perSeriesDigest(current)))
        #expect(exact > 0.03)  // Φ(0.05) − Φ(−0.05) ≈ 0.04 apart in theory
        #expect(abs(d - exact) <= 0.005, "digest \(d), exact \(exact)")
        #expect(d > DriftNoiseFloor.ks(n: 20_000, m: 20_000))
    }

    @Test func sameSampleTwiceIsZero() throws {
        let values = draw(.exponential(rate: 1), 20_000, seed: 3)
        let d = try #require(DigestDrift.kolmogorovSmirnov(perSeriesDigest(values), perSeriesDigest(values)))
        #expect(d < 1e-12)
    }

    @Test func independentSamplesStayBelowFloor() throws {
        let a = draw(.lognormal(mu: 0, sigma: 1), 10_000, seed: 21)
        let b = draw(.lognormal(mu: 0, sigma: 1), 10_000, seed: 22)
        let d = try #require(DigestDrift.kolmogorovSmirnov(perSeriesDigest(a), perSeriesDigest(b)))
        #expect(abs(d - exactKS(a, b)) <= 0.005)
        #expect(d < DriftNoiseFloor.ks(n: 10_000, m: 10_000))
    }

    @Test func disjointSamplesAreOne() throws {
        let d = try #require(DigestDrift.kolmogorovSmirnov(perSeriesDigest([1, 2, 3]), perSeriesDigest([10, 11])))
        #expect(d == 1)
    }

    /// D = 0.1, n = m = 100: nₑ = 50, λ = (√50 + 0.12 + 0.11/√50)·0.1 = 0.720662;
    /// Q_KS(λ) = 0.676620 (scipy.stats.kstwobign.sf). The exact permutation p-value
    /// P(D ≥ 0.1) for n = m = 100 is 0.702057 (scipy's lattice-path count), so the
    /// asymptotic one is within 0.03 of it here.
    @Test func pValueMatchesReference() {
        let p = DigestDrift.ksPValue(d: 0.1, n: 100, m: 100)
        #expect(abs(p - 0.676_620_149_7) < 1e-6)
        #expect(abs(p - 0.702_057) < 0.03)
        // Large λ takes the alternating series: λ = 1.5 ⇒ 2(e^−4.5 − e^−18 + …).
        let effective = (50.0).squareRoot() + 0.12 + 0.11 / (50.0).squareRoot()
        let large = DigestDrift.ksPValue(d: 1.5 / effective, n: 100, m: 100)
        #expect(abs(large - 2 * (exp(-4.5) - exp(-18.0) + exp(-40.5))) < 1e-12)
        #expect(DigestDrift.ksPValue(d: 0, n: 5, m: 5) == 1)
        #expect(DigestDrift.ksPValue(d: 1, n: 10_000, m: 10_000) < 1e-100)
    }

    /// Both forms of the Kolmogorov tail agree where they meet (λ = 1.18).
    @Test func kolmogorovFormsAgree() {
        let below = KolmogorovDistribution.survival(1.18.nextDown)
        let above = KolmogorovDistribution.survival(1.18)
        #expect(abs(below - above) < 1e-12)
    }

    @Test func badInput() {
        #expect(DigestDrift.kolmogorovSmirnov(TDigest(), perSeriesDigest([1])) == nil)
        #expect(DigestDrift.kolmogorovSmirnov(perSeriesDigest([1]), TDigest()) == nil)
        #expect(DigestDrift.ksPValue(d: 0.1, n: 0, m: 10).isNaN)
        #expect(DigestDrift.ksPValue(d: .nan, n: 10, m: 10).isNaN)
    }
}

@Suite struct PopulationStabilityIndexTests {
    /// e = (.25, .25, .5), a = (.2, .3, .5), by hand:
    /// (−.05)·ln(.8) + (.05)·ln(1.2) + 0 = .0111572 + .0091161 = .0202733.
    @Test func handComputedShares() {
        let psi = DigestDrift.populationStabilityIndex(expected: [0.25, 0.25, 0.5], actual: [0.2, 0.3, 0.5])
        #expect(abs(psi - 0.020_273_255_405) < 1e-11)
        let swapped = DigestDrift.populationStabilityIndex(expected: [0.2, 0.3, 0.5], actual: [0.25, 0.25, 0.5])
        #expect(abs(psi - swapped) < 1e-15)
        #expect(DigestDrift.populationStabilityIndex(expected: [0.5, 0.5], actual: [0.5, 0.5]) == 0)
    }

    /// An empty bin is clamped to ε: (1 − ε)·ln(1/ε) + (ε − 1)·ln(ε/1) with ε = 10⁻⁴.
    @Test func emptyBinIsClampedToEpsilon() {
        let psi = DigestDrift.populationStabilityIndex(expected: [1, 0], actual: [0, 1])
        #expect(abs(psi - 2 * (1 - 1e-4) * log(1e4)) < 1e-12)
    }

    /// lognormal(0, 1) against lognormal(0.3, 1), 20,000 each: digest PSI (edges frozen
    /// from the baseline digest) within 0.01 of the raw-sample PSI with edges at the exact
    /// baseline deciles.
    @Test func digestPSIMatchesRawSamples() throws {
        let baseline = draw(.lognormal(mu: 0, sigma: 1), 20_000, seed: 31)
        let current = draw(.lognormal(mu: 0.3, sigma: 1), 20_000, seed: 32)
        let sorted = baseline.sorted()
        let edges = (1..<10).map { sorted[$0 * sorted.count / 10 - 1] }
        let exact = DigestDrift.populationStabilityIndex(expected: exactShares(baseline, edges: edges),
                                                         actual: exactShares(current, edges: edges))
        let digests = (perSeriesDigest(baseline), perSeriesDigest(current))
        let psi = try #require(DigestDrift.psi(digests.0, digests.1))
        #expect(exact > 0.05)  // a 0.3σ shift: ≈ 0.09 in theory
        #expect(abs(psi - exact) < 0.01, "digest \(psi), exact \(exact)")
        // The same exact edges applied to the digests.
        let bins = try #require(DigestDrift.QuantileBins(edges: edges))
        let frozen = DigestDrift.populationStabilityIndex(expected: bins.shares(of: digests.0),
                                                          actual: bins.shares(of: digests.1))
        #expect(abs(frozen - exact) < 0.01)
    }

    @Test func independentSamplesStayBelowFloor() throws {
        let a = draw(.exponential(rate: 2), 10_000, seed: 41)
        let b = draw(.exponential(rate: 2), 10_000, seed: 42)
        let psi = try #require(DigestDrift.psi(perSeriesDigest(a), perSeriesDigest(b)))
        #expect(psi < DriftNoiseFloor.psi(bins: 10, n: 10_000, m: 10_000))
    }

    @Test func frozenBinsSplitTheBaselineEvenly() throws {
        let values = draw(.uniform(low: 0, high: 1), 20_000, seed: 5)
        let digest = perSeriesDigest(values)
        let bins = try #require(DigestDrift.QuantileBins.frozen(from: digest, bins: 10))
        #expect(bins.edges.count == 9 && bins.count == 10)
        let shares = bins.shares(of: digest)
        #expect(shares.count == 10)
        #expect(abs(shares.reduce(0, +) - 1) < 1e-12)
        for share in shares { #expect(abs(share - 0.1) < 0.003) }
    }

    /// Ties collapse edges: of the 9 deciles of a baseline of three equally common values,
    /// only a few are distinct (the digest interpolates between its centroids, so some
    /// fall between the values), and the baseline's shares still sum to 1.
    @Test func tiesCollapseEdges() throws {
        let values = (0..<3_000).map { Double($0 % 3) }
        let digest = perSeriesDigest(values)
        let bins = try #require(DigestDrift.QuantileBins.frozen(from: digest, bins: 10))
        #expect(bins.edges.count < 9)
        #expect(zip(bins.edges, bins.edges.dropFirst()).allSatisfy { $0 < $1 })
        #expect(abs(bins.shares(of: digest).reduce(0, +) - 1) < 1e-12)
        #expect(DigestDrift.psi(digest, digest) == 0)
        let constant = try #require(DigestDrift.QuantileBins.frozen(from: perSeriesDigest([7, 7, 7]), bins: 10))
        #expect(constant.edges == [7])
        #expect(constant.shares(of: perSeriesDigest([7, 7])) == [1, 0])
    }

    @Test func badInput() {
        let digest = perSeriesDigest([1, 2, 3])
        #expect(DigestDrift.psi(TDigest(), digest) == nil)
        #expect(DigestDrift.psi(digest, TDigest()) == nil)
        #expect(DigestDrift.psi(digest, digest, bins: 1) == nil)
        #expect(DigestDrift.QuantileBins.frozen(from: TDigest()) == nil)
        #expect(DigestDrift.QuantileBins(edges: []) == nil)
        #expect(DigestDrift.QuantileBins(edges: [2, 1]) == nil)
        #expect(DigestDrift.QuantileBins(edges: [1, .infinity]) == nil)
        #expect(DigestDrift.QuantileBins(edges: [1])?.shares(of: TDigest()) == [])
        #expect(DigestDrift.populationStabilityIndex(expected: [1], actual: [0.5, 0.5]).isNaN)
        #expect(DigestDrift.populationStabilityIndex(expected: [], actual: []).isNaN)
        #expect(DigestDrift.populationStabilityIndex(expected: [1, -1], actual: [0.5, 0.5]).isNaN)
        #expect(DigestDrift.populationStabilityIndex(expected: [1], actual: [1], epsilon: 0).isNaN)
    }
}

@Suite struct WassersteinTests {
    /// N(0, 1) against N(0.5, 1), 100,000 each: W₁/σ ≈ 0.5 (the samples' mean difference
    /// has a standard error of √(2/100,000) = 0.0045, so 0.03 is over 6 of them; at 20,000
    /// values these seeds drew means 3.5 standard errors apart), and the digest's value
    /// within 0.02 of the exact one on the raw samples (mean |x₍ᵢ₎ − y₍ᵢ₎| over the sorted
    /// samples, divided by the baseline's sample standard deviation).
    @Test func shiftedNormals() throws {
        let baseline = draw(.normal(mean: 0, sd: 1), 100_000, seed: 51)
        let current = draw(.normal(mean: 0.5, sd: 1), 100_000, seed: 52)
        let x = baseline.sorted(), y = current.sorted()
        let exact = zip(x, y).reduce(0.0) { $0 + abs($1.0 - $1.1) } / Double(x.count)
            / exactStandardDeviation(baseline)
        let w = try #require(DigestDrift.wassersteinNormalized(perSeriesDigest(baseline), perSeriesDigest(current)))
        #expect(abs(w - 0.5) < 0.03, "digest \(w)")
        #expect(abs(w - exact) < 0.02, "digest \(w), exact \(exact)")
    }

    @Test func standardDeviationFromCentroids() throws {
        let values = draw(.normal(mean: 10, sd: 2), 20_000, seed: 61)
        let sd = try #require(DigestDrift.standardDeviation(perSeriesDigest(values)))
        let exact = exactStandardDeviation(values)
        #expect(sd <= exact * 1.000_001)  // within-centroid spread left out
        #expect(sd > exact * 0.99)
        // Few values: each its own centroid, so exact (population sd of 1…4 is √1.25).
        let few = try #require(DigestDrift.standardDeviation(perSeriesDigest([1, 2, 3, 4])))
        #expect(abs(few - 1.25.squareRoot()) < 1e-6)
        #expect(DigestDrift.standardDeviation(perSeriesDigest([5, 5])) == 0)
    }

    @Test func centroidListCoversBufferedValues() {
        let digest = perSeriesDigest(draw(.exponential(rate: 1), 1_000, seed: 7))
        let centroids = digest.centroidList
        #expect(centroids.reduce(0) { $0 + $1.weight } == Double(digest.count))
        #expect(zip(centroids, centroids.dropFirst()).allSatisfy { $0.mean <= $1.mean })
        #expect(TDigest().centroidList.isEmpty)
    }

    @Test func badInput() {
        let digest = perSeriesDigest([1, 2, 3])
        #expect(DigestDrift.wassersteinNormalized(TDigest(), digest) == nil)
        #expect(DigestDrift.wassersteinNormalized(digest, TDigest()) == nil)
        #expect(DigestDrift.wassersteinNormalized(perSeriesDigest([4, 4]), digest) == nil)
        #expect(DigestDrift.wassersteinNormalized(digest, digest, steps: 0) == nil)
        #expect(DigestDrift.standardDeviation(TDigest()) == nil)
    }
}
