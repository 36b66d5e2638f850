import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// `SeriesAggregate.addAll` (a series built when its window seals, all its requests at once)
/// makes the same aggregate as sizing it (`reserve`) and adding the requests one by one:
/// every counter, the categories, and every sketch's bytes.
@Suite struct AddAllTests {
    /// `n` requests with repeats among users, sessions, categories and values, absent TTFTs,
    /// unpriced ones, failures with error classes and safety incidents; `categories` distinct
    /// category ids at most.
    static func requests(_ n: Int, categories: Int, seed: UInt64) -> [FrameValues] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { i in
            let r = rng.next()
            let latency = UInt32(1_000 + r % 50_000)
            let ttft: UInt32 = r % 5 == 0 ? WireLimits.absent32 : latency / 3
            let failed = r % 11 == 0
            return FrameValues(
                userHash: 1 + rng.next() % 6, sessionHash: i % 3 == 0 ? 0 : 1 + rng.next() % 9,
                cost: r % 7 == 0 ? .nan : Double(r % 1_000) * 1e-6,
                queueTimeMicros: UInt32(r % 4 == 0 ? 0 : r % 2_000), timeToFirstTokenMicros: ttft,
                totalLatencyMicros: latency, inputTokens: UInt32(i % 3 == 0 ? 512 : r % 4_000),
                outputTokens: UInt32(r % 3 == 0 ? 1 : r % 900), cachedInputTokens: UInt32(r % 100),
                errorClass: failed ? UInt32(1 + r % 2) : SymbolTable.none,
                categoryID: r % 6 == 0 ? WireLimits.noCategory : UInt16(rng.next() % UInt64(categories)),
                safetyKinds: r % 13 == 0 ? [.hate, .selfHarm] : [], status: failed ? .error : .ok,
                outcome: OutcomeBits(refusal: r % 17 == 0, task: r % 2 == 0 ? .success : .failure,
                                     feedback: r % 19 == 0 ? .down : .none),
                safetySeverity: r % 13 == 0 ? .medium : .none)
        }
    }

    static func expectSame(_ a: SeriesAggregate, _ b: SeriesAggregate, _ context: String) {
        #expect(a.requests == b.requests && a.statusCounts == b.statusCounts && a.errorClasses == b.errorClasses, "\(context)")
        #expect(a.refusals == b.refusals && a.escalations == b.escalations && a.fallbacks == b.fallbacks, "\(context)")
        #expect(a.taskOutcomes == b.taskOutcomes && a.feedbackUp == b.feedbackUp && a.feedbackDown == b.feedbackDown,
                "\(context)")
        #expect(a.safetyBySeverity == b.safetyBySeverity && a.safetyByKind == b.safetyByKind, "\(context)")
        #expect(a.unpriced == b.unpriced && a.cachedInputTokens == b.cachedInputTokens, "\(context)")
        #expect(a.categories == b.categories && a.otherCategories == b.otherCategories, "\(context): categories")
        let digests: [(String, KeyPath<SeriesAggregate, TDigest>)] = [
            ("queue", \.queueTime), ("ttft", \.timeToFirstToken), ("latency", \.totalLatency),
            ("tpot", \.timePerOutputToken), ("input", \.inputTokens), ("output", \.outputTokens), ("cost", \.cost),
        ]
        for (name, path) in digests {
            let x = a[keyPath: path], y = b[keyPath: path]
            #expect(x.count == y.count && x.sum.bitPattern == y.sum.bitPattern, "\(context): \(name)")
            #expect(x.min.bitPattern == y.min.bitPattern && x.max.bitPattern == y.max.bitPattern, "\(context): \(name)")
            #expect(x.serialized() == y.serialized() && x.compactSerialized() == y.compactSerialized(), "\(context): \(name)")
        }
        #expect(a.users.serialized() == b.users.serialized() && a.sessions.serialized() == b.sessions.serialized(),
                "\(context): distinct counts")
    }

    /// Series of 5 … 31 requests (those built at the seal), series and cohorts, few and many
    /// categories; and 100 requests over 80 categories (past the histogram's 64: added in
    /// request order, as one by one).
    @Test(arguments: [(5, 4), (6, 32), (9, 2), (17, 32), (24, 1), (31, 32), (31, 1_000), (100, 80)])
    func addAllMakesTheAggregateOfOneByOne(count n: Int, categories: Int) {
        for cohort in [false, true] {
            let all = Self.requests(n, categories: categories, seed: UInt64(n * 1_000 + categories))
            var oneByOne = SeriesAggregate(), atOnce = SeriesAggregate()
            all.withUnsafeBufferPointer { all in
                let rest = UnsafeBufferPointer(rebasing: all[1...])
                oneByOne.reserve(for: all[0], rest, cohort: cohort)
                for r in all { if cohort { oneByOne.addCohort(r) } else { oneByOne.add(r) } }
                atOnce.addAll(all[0], rest, cohort: cohort)
            }
            Self.expectSame(atOnce, oneByOne, "\(n) requests, \(categories) categories, cohort \(cohort)")
            let tpots = all.filter { $0.timePerOutputTokenMicros != nil }.count
            #expect(atOnce.timePerOutputToken.count == (cohort ? 0 : UInt64(tpots)), "the time per output token, series only")
            #expect(!cohort || atOnce.sessions.estimate == 0, "a cohort counts no sessions")
        }
    }
}
