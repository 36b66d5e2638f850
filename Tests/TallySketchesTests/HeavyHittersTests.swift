import Testing
import TallySynthetic
@testable import TallySketches

/// Space-Saving against exact counts: over-counts within each entry's error ≤ W/k,
/// never under; every key heavier than W/k held; the same after merges.
@Suite struct HeavyHittersTests {
    /// (key, weight) pairs: Zipf-distributed keys (s = 1.1 over 10⁴ tenants or users),
    /// weights like request costs (lognormal), or 1 for request counts.
    static func stream(_ n: Int, seed: UInt64, costs: Bool) -> [(UInt64, Double)] {
        let keys = TiedData.zipf(n: 10_000, exponent: 1.1).values(n, seed: seed)
        var rng = SplitMix64(seed: seed ^ 0x5eed)
        let law = Distribution.lognormal(mu: -6, sigma: 1)
        return keys.map { (HyperLogLog.mix(UInt64($0)), costs ? law.sample(&rng) : 1) }
    }

    /// Checks the guarantees of `summary` against the exact weights.
    static func check(_ summary: HeavyHitters, exact: [UInt64: Double], label: String) {
        let w = exact.values.reduce(0, +)
        #expect(abs(summary.totalWeight - w) <= 1e-9 * w, "\(label): W")
        let bound = summary.errorBound * (1 + 1e-12)
        let held = summary.top(summary.capacity)
        #expect(held.count == min(summary.capacity, exact.count), "\(label)")
        for e in held {
            let truth = exact[e.key] ?? 0
            #expect(e.estimate >= truth * (1 - 1e-12), "\(label): \(e.key) under-counted: \(e.estimate) < \(truth)")
            #expect(e.estimate - truth <= e.error + 1e-9 * w, "\(label): \(e.key) over its error")
            #expect(e.error <= bound, "\(label): error \(e.error) over W/k = \(summary.errorBound)")
        }
        let heldKeys = Set(held.map(\.key))
        for (key, truth) in exact where truth > bound {
            #expect(heldKeys.contains(key), "\(label): \(key) (\(truth) > W/k \(summary.errorBound)) not held")
        }
        #expect(zip(held, held.dropFirst()).allSatisfy { $0.estimate >= $1.estimate }, "\(label): top is ordered")
    }

    @Test(arguments: [false, true])
    func oneStreamKeepsItsBounds(costs: Bool) {
        let pairs = Self.stream(200_000, seed: 1, costs: costs)
        var summary = HeavyHitters(capacity: 64)
        var exact: [UInt64: Double] = [:]
        for (key, weight) in pairs {
            summary.insert(key, weight: weight)
            exact[key, default: 0] += weight
        }
        Self.check(summary, exact: exact, label: costs ? "costs" : "requests")
        // The heaviest keys are found in order: the top 5 by estimate are the top 5 by truth.
        let truthTop = exact.sorted { $0.value > $1.value }.prefix(5).map(\.key)
        #expect(summary.top(5).map(\.key) == truthTop)
    }

    @Test func mergedSummariesKeepTheirBoundsWhateverTheOrder() throws {
        var parts: [HeavyHitters] = []
        var exact: [UInt64: Double] = [:]
        for part in 0..<10 {
            var summary = HeavyHitters(capacity: 64)
            // Each part its own mix: the heavy keys differ in rank between parts.
            for (key, weight) in Self.stream(20_000, seed: 100 + UInt64(part), costs: true) {
                let k = part % 2 == 0 ? key : key ^ 0x1
                summary.insert(k, weight: weight)
                exact[k, default: 0] += weight
            }
            parts.append(summary)
        }
        let forward = try parts.dropFirst().reduce(parts[0]) { try $0.merged(with: $1) }
        let backward = try parts.dropLast().reversed().reduce(parts[9]) { try $0.merged(with: $1) }
        Self.check(forward, exact: exact, label: "merged forward")
        Self.check(backward, exact: exact, label: "merged backward")
        let pairwise = try parts[0].merged(with: parts[1])
        #expect(try parts[1].merged(with: parts[0]).top(64) == pairwise.top(64), "a merge does not depend on which is self")
    }

    @Test func exactWhileFewKeys() throws {
        var a = HeavyHitters(capacity: 8), b = HeavyHitters(capacity: 8)
        for i in 0..<100 { a.insert(UInt64(i % 4), weight: Double(i)) }
        for i in 0..<40 { b.insert(UInt64(2 + i % 4), weight: 0.5) }
        let merged = try a.merged(with: b)
        var truth: [UInt64: Double] = [:]
        for i in 0..<100 { truth[UInt64(i % 4), default: 0] += Double(i) }
        for i in 0..<40 { truth[UInt64(2 + i % 4), default: 0] += 0.5 }
        #expect(merged.count == 6)
        for e in merged.top(8) {
            #expect(e.estimate == truth[e.key] && e.error == 0)
        }
        #expect(merged.estimate(99) == 0, "a key never seen, with room left, had nothing")
    }

    @Test func badWeightsAreRefusedAndCounted() throws {
        var s = HeavyHitters(capacity: 4)
        for w in [-1, .nan, .infinity, 2] as [Double] { s.insert(7, weight: w) }
        #expect(s.rejected == 3 && s.totalWeight == 2 && s.estimate(7) == 2)
        #expect(throws: SketchError.self) { try s.merged(with: HeavyHitters(capacity: 5)) }
        #expect(HeavyHitters(capacity: 0).capacity == 1 && HeavyHitters(capacity: 1 << 30).capacity == 65_536)
    }
}
