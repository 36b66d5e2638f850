#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

let prices = PriceTable([
    "llama-3.1-70b-instruct": ModelPrice(input: 0.9, cachedInput: 0.45, output: 0.9),
    "mistral-large": ModelPrice(input: 2, cachedInput: 1, output: 6),
    "qwen2.5-coder-32b": ModelPrice(input: 0.2, cachedInput: 0.1, output: 0.6),
    // llama-3.1-8b-instruct deliberately unpriced
])

/// Fleet frames → wire batches → decoded → resolved records, as ingest will do.
func records(_ frames: [TraceFrame], symbols: SymbolTable, prices: PriceTable = prices) throws -> [FrameRecord] {
    let encoder = BatchEncoder(capacity: 16_384)
    let decoder = BatchDecoder()
    let resolver = BatchResolver(symbols: symbols, prices: prices)
    var out: [FrameRecord] = []
    func drain() throws {
        let view = try decoder.decode(encoder.finish(sequence: 0))
        resolver.begin(view)
        for frame in view.frameReferences { out.append(resolver.record(frame)) }
        encoder.reset()
    }
    for frame in frames {
        if try !encoder.append(frame) { try drain(); _ = try encoder.append(frame) }
    }
    if !encoder.isEmpty { try drain() }
    return out
}

func fleetFrames(_ count: Int, seed: UInt64) -> [TraceFrame] {
    var rng = SplitMix64(seed: seed)
    let fleet = SyntheticFleet(tenants: 20, users: 5_000)
    return (0..<count).map { fleet.frame(eventTimeMicros: 1_763_700_000_000_000 + UInt64($0) * 1_000, &rng) }
}

@Suite struct CostTests {
    @Test func cachedTokensArePricedOnceAsCached() {
        let price = ModelPrice(input: 3, cachedInput: 0.3, output: 15)
        // 1,000 prompt tokens of which 400 cached, 200 generated.
        let cost = price.cost(inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 200)
        #expect(abs(cost - (600 * 3 + 400 * 0.3 + 200 * 15) / 1e6) < 1e-15)
        #expect(price.cost(inputTokens: 0, cachedInputTokens: 0, outputTokens: 0) == 0)
    }

    /// Hand-computed costs for the ways providers bill (US dollars per million tokens).
    @Test func eachProviderStyleIsPricedAsBilled() throws {
        // Cache reads at a discount, no cache writes, reasoning billed as output (the defaults).
        let readsOnly = ModelPrice(input: 2, cachedInput: 0.5, output: 8)
        #expect(readsOnly.cacheWrite == 2 && readsOnly.reasoning == 8)
        // 10,000 prompt tokens of which 6,000 read from the cache; 1,500 output of which 1,000 reasoning.
        let a = readsOnly.cost(inputTokens: 10_000, cachedInputTokens: 6_000, outputTokens: 1_500, reasoningOutputTokens: 1_000)
        #expect(abs(a - 0.023) < 1e-12, "4,000 × 2 + 6,000 × 0.5 + 1,500 × 8 = 23,000 µ$")
        // Cache writes billed above input (1.25×), reads at 10 %.
        let writes = ModelPrice(input: 3, cachedInput: 0.3, output: 15, cacheWrite: 3.75)
        // 12,000 prompt tokens: 8,000 read, 2,000 written, 2,000 neither; 500 output.
        let b = writes.cost(inputTokens: 12_000, cachedInputTokens: 8_000, cacheCreationInputTokens: 2_000, outputTokens: 500)
        #expect(abs(b - 0.0234) < 1e-12, "2,000 × 3 + 8,000 × 0.3 + 2,000 × 3.75 + 500 × 15 = 23,400 µ$")
        // Reasoning at its own price.
        let thinking = ModelPrice(input: 1, cachedInput: 0.25, output: 4, reasoning: 10)
        let c = thinking.cost(inputTokens: 1_000, cachedInputTokens: 0, outputTokens: 3_000, reasoningOutputTokens: 2_000)
        #expect(abs(c - 0.025) < 1e-12, "1,000 × 1 + 1,000 × 4 + 2,000 × 10 = 25,000 µ$")
        // A frame without the new fields (a revision 1.0 producer) costs what it did before.
        #expect(writes.cost(inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 200)
                == ModelPrice(input: 3, cachedInput: 0.3, output: 15).cost(inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 200))
        // Parts larger than their whole are clamped, never negative: writes beyond what reads left.
        let clamped = writes.cost(inputTokens: 100, cachedInputTokens: 60, cacheCreationInputTokens: 90, outputTokens: 10, reasoningOutputTokens: 50)
        #expect(abs(clamped - (60 * 0.3 + 40 * 3.75 + 10 * 15) / 1e6) < 1e-15)
    }

    /// The whole path: frames with cache writes and reasoning, encoded, decoded and resolved.
    @Test func cacheWritesAndReasoningReachTheCost() throws {
        let prices = PriceTable(["claude-x": ModelPrice(input: 3, cachedInput: 0.3, output: 15, cacheWrite: 3.75, reasoning: 15)])
        let frames = [TraceFrame(eventTimeMicros: 1, model: "claude-x", totalLatencyMicros: 5, inputTokens: 12_000, outputTokens: 500,
                                 cachedInputTokens: 8_000, cacheCreationInputTokens: 2_000, reasoningOutputTokens: 100)]
        let rs = try records(frames, symbols: SymbolTable(), prices: prices)
        #expect(abs(rs[0].values.cost - 0.0234) < 1e-12)
    }

    @Test func unpricedModelsAreCountedNotZero() throws {
        let symbols = SymbolTable()
        let frames = [TraceFrame(eventTimeMicros: 1, model: "llama-3.1-8b-instruct", totalLatencyMicros: 5, inputTokens: 10),
                      TraceFrame(eventTimeMicros: 1, model: "mistral-large", totalLatencyMicros: 5, inputTokens: 10, outputTokens: 1)]
        let rs = try records(frames, symbols: symbols)
        #expect(rs[0].values.cost.isNaN)
        #expect(abs(rs[1].values.cost - (10 * 2 + 6) / 1e6) < 1e-15)
        var aggregate = SeriesAggregate()
        for r in rs { aggregate.add(r) }
        #expect(aggregate.unpriced == 1 && aggregate.cost.count == 1)
    }
}

@Suite struct SeriesKeyTests {
    @Test func tagOrderDoesNotMatter() throws {
        let symbols = SymbolTable()
        let a = TraceFrame(eventTimeMicros: 1, model: "m", tags: [CohortTag("tenant", "acme"), CohortTag("region", "eu")],
                           totalLatencyMicros: 1)
        var b = a
        b.tags.reverse()
        var c = a
        c.tags[0].value = "other"
        let rs = try records([a, b, c], symbols: symbols)
        #expect(rs[0].key == rs[1].key && rs[0].routingHash == rs[1].routingHash)
        #expect(rs[0].key != rs[2].key)
        #expect(symbols.string(rs[0].key.model) == "m")
    }

    @Test func dimensionsMakeDistinctKeys() {
        let base = SeriesKey(model: 5, modelVersion: 6, promptVersion: 7, route: 8, ring: .stable, tags: [(9, 10)])
        var variants = [base]
        var k = base; k.ring = .canary; variants.append(k)
        k = base; k.route = 11; variants.append(k)
        k = base; k.insertTag(key: 12, value: 13); variants.append(k)
        variants.append(SeriesKey(model: 5, modelVersion: 6, promptVersion: 7, route: 8, tags: [(9, 14)]))
        #expect(Set(variants).count == variants.count)
        #expect(Set(variants.map(\.routingHash)).count == variants.count)
    }
}

/// A deliberately plain model of the aggregation rules, straight from the
/// producer-side frames: the reference the aggregate must match exactly.
struct ReferenceSeries: Equatable {
    var requests = 0, refusals = 0, escalations = 0, fallbacks = 0, up = 0, down = 0, unpriced = 0
    var status = [Int](repeating: 0, count: 6), task = [Int](repeating: 0, count: 3)
    var severity = [Int](repeating: 0, count: 5), kinds = [Int](repeating: 0, count: 16)
    var errorClasses: [String: Int] = [:]
    var categories: [UInt16: Int] = [:]
    var latencySum = 0.0, latencyMin = Double.infinity, latencyMax = -Double.infinity
    var ttftCount = 0, tpotCount = 0, cachedSum = 0
    var users = Set<UInt64>()

    mutating func add(_ f: TraceFrame) {
        requests += 1
        status[Int(f.status.rawValue)] += 1
        if let e = f.errorClass { errorClasses[e, default: 0] += 1 }
        if f.outcome.refusal { refusals += 1 }
        if f.outcome.escalation { escalations += 1 }
        if f.outcome.fallback { fallbacks += 1 }
        task[Int(f.outcome.task!.rawValue)] += 1
        if f.outcome.feedback == .up { up += 1 }
        if f.outcome.feedback == .down { down += 1 }
        if f.safetySeverity != .none {
            severity[Int(f.safetySeverity.rawValue)] += 1
            for bit in 0..<16 where f.safetyKinds.rawValue & (1 << bit) != 0 { kinds[bit] += 1 }
        }
        if prices.price(of: f.model) == nil { unpriced += 1 }
        let total = Double(f.totalLatencyMicros)
        latencySum += total; latencyMin = min(latencyMin, total); latencyMax = max(latencyMax, total)
        if f.timeToFirstTokenMicros != nil { ttftCount += 1 }
        if f.timeToFirstTokenMicros != nil && f.outputTokens >= 2 { tpotCount += 1 }
        cachedSum += Int(f.cachedInputTokens)
        if let c = f.categoryID { categories[c, default: 0] += 1 }
        if f.userHash != 0 { users.insert(f.userHash) }
    }
}

@Suite struct SeriesAggregateTests {
    /// Exact counters equal the reference, series by series.
    @Test func countersMatchTheReferenceModel() throws {
        let symbols = SymbolTable()
        let frames = fleetFrames(20_000, seed: 4)
        let rs = try records(frames, symbols: symbols)
        let table = WindowTable(startMicros: 0, maxSeries: 1_000_000, sketches: SketchParameters())
        for r in rs { table.add(r) }
        // Reference, keyed the same way through the same symbols.
        var reference: [SeriesKey: ReferenceSeries] = [:]
        for (frame, record) in zip(frames, rs) { reference[record.key, default: ReferenceSeries()].add(frame) }
        #expect(table.seriesCount == reference.count)
        #expect(table.frames == 20_000 && table.foldedFrames == 0)
        for (key, expected) in reference {
            let a = try #require(table.aggregate(key))
            #expect(Int(a.requests) == expected.requests)
            #expect(a.statusCounts.map(Int.init) == expected.status)
            #expect(a.taskOutcomes.map(Int.init) == expected.task)
            #expect(a.safetyBySeverity.map(Int.init) == expected.severity)
            #expect(a.safetyByKind.map(Int.init) == expected.kinds)
            #expect(Int(a.refusals) == expected.refusals && Int(a.escalations) == expected.escalations)
            #expect(Int(a.fallbacks) == expected.fallbacks)
            #expect(Int(a.feedbackUp) == expected.up && Int(a.feedbackDown) == expected.down)
            #expect(Int(a.unpriced) == expected.unpriced)
            #expect(Dictionary(uniqueKeysWithValues: a.errorClasses.map { (symbols.string($0.key), Int($0.value)) })
                    == expected.errorClasses)
            #expect(a.categories.mapValues(Int.init) == expected.categories)
            #expect(a.totalLatency.count == UInt64(expected.requests))
            #expect(a.totalLatency.sum == expected.latencySum)
            #expect(a.totalLatency.min == expected.latencyMin && a.totalLatency.max == expected.latencyMax)
            #expect(Int(a.timeToFirstToken.count) == expected.ttftCount)
            #expect(Int(a.timePerOutputToken.count) == expected.tpotCount)
            #expect(Int(a.cachedInputTokens) == expected.cachedSum)
            #expect(abs(a.users.estimate - Double(expected.users.count)) <= max(2, 0.03 * Double(expected.users.count)))
        }
    }

    /// merge(a, b) equals aggregating a ∪ b, exactly for counters, sums, min and max.
    @Test func mergeEqualsAggregatingTheUnion() throws {
        let symbols = SymbolTable()
        let frames = fleetFrames(6_000, seed: 9).map { f -> TraceFrame in
            var f = f; f.tags = []; f.route = nil; f.modelVersion = nil; f.promptVersion = nil; return f  // few series
        }
        let rs = try records(frames, symbols: symbols)
        let key = rs[0].key
        let mine = rs.filter { $0.key == key }
        var a = SeriesAggregate(), b = SeriesAggregate(), all = SeriesAggregate()
        for (i, r) in mine.enumerated() { if i % 3 == 0 { a.add(r) } else { b.add(r) }; all.add(r) }
        var merged = a
        try merged.merge(b)
        #expect(merged.requests == all.requests && merged.statusCounts == all.statusCounts)
        #expect(merged.errorClasses == all.errorClasses && merged.taskOutcomes == all.taskOutcomes)
        #expect(merged.safetyByKind == all.safetyByKind && merged.safetyBySeverity == all.safetyBySeverity)
        #expect(merged.categories == all.categories && merged.unpriced == all.unpriced)
        #expect(merged.cachedInputTokens == all.cachedInputTokens)
        for (m, x) in [(merged.totalLatency, all.totalLatency), (merged.cost, all.cost), (merged.queueTime, all.queueTime)] {
            #expect(m.count == x.count && m.min == x.min && m.max == x.max)
            #expect(abs(m.sum - x.sum) <= 1e-9 * abs(x.sum))
            #expect(abs(m.quantile(0.5) - x.quantile(0.5)) <= 0.05 * abs(x.quantile(0.5)))
        }
        // The union's registers equal those of the whole stream (or its exact keys, while
        // exact), so the register estimate is identical; `estimate` differs by design
        // (the stream's martingale estimate has no counterpart for a union).
        #expect(merged.users.registerEstimate == all.users.registerEstimate, "HLL unions are exact")
        #expect(merged.sessions.registerEstimate == all.sessions.registerEstimate, "HLL unions are exact")
        var mismatched = SketchParameters(); mismatched.compression = SketchParameters().compression + 50
        #expect(throws: SketchError.self) { try merged.merge(SeriesAggregate(sketches: mismatched)) }
    }
}

@Suite struct WindowTests {
    let policy = WindowPolicy(intervalMicros: 10_000_000, allowedLatenessMicros: 2_000_000, futureToleranceMicros: 5_000_000)

    @Test func boundaries() {
        let now: UInt64 = 1_000_000_000_000
        // A window [s, s + 10 s) is open until s + 12 s on the collector's clock.
        #expect(policy.place(eventTimeMicros: now, nowMicros: now) == .window(startMicros: now))
        #expect(policy.place(eventTimeMicros: now - 1, nowMicros: now) == .window(startMicros: now - 10_000_000))
        #expect(policy.place(eventTimeMicros: now + 9_999_999, nowMicros: now + 5_000_000) == .window(startMicros: now))
        // Lateness: the previous window still takes frames for 2 s past its end …
        #expect(policy.place(eventTimeMicros: now - 1, nowMicros: now + 1_999_999) == .window(startMicros: now - 10_000_000))
        // … and not a microsecond longer.
        #expect(policy.place(eventTimeMicros: now - 1, nowMicros: now + 2_000_000) == .late)
        #expect(policy.place(eventTimeMicros: now - 10_000_000, nowMicros: now + 2_000_000) == .late)
        // Future bound.
        #expect(policy.place(eventTimeMicros: now + 5_000_000, nowMicros: now) == .window(startMicros: now))
        #expect(policy.place(eventTimeMicros: now + 5_000_001, nowMicros: now) == .future)
        #expect(policy.sealTime(ofWindowStarting: now) == now + 12_000_000)
    }

    @Test func cardinalityCapFoldsIntoOneOverflowSeries() throws {
        let symbols = SymbolTable()
        let frames = (0..<500).map { i in
            TraceFrame(eventTimeMicros: 1, model: "m", tags: [CohortTag("tenant", "t\(i % 100)")], totalLatencyMicros: 10)
        }
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters())
        for r in try records(frames, symbols: symbols) { table.add(r) }
        #expect(table.seriesCount == 11, "10 admitted + the overflow series")
        #expect(table.frames == 500)
        let overflow = try #require(table.aggregate(.overflow))
        #expect(table.foldedFrames == overflow.requests)
        #expect(overflow.requests == 500 - 10 * 5, "the first 10 tenants keep their 5 frames each")
        #expect(abs(table.foldedKeys.estimate - 90) < 1, "90 keys folded")
        #expect(table.aggregates.reduce(0) { $0 + $1.requests } == 500, "every frame counted exactly once")
    }
}

@Suite struct SPSCRingTests {
    @Test func fifoFullAndEmpty() {
        let ring = SPSCRing<Int>(capacity: 4)
        #expect(ring.capacity == 4 && ring.pop() == nil)
        for i in 0..<4 { #expect(ring.push(i)) }
        #expect(!ring.push(99), "full")
        #expect(ring.pop() == 0)
        #expect(ring.push(4))
        #expect((0..<4).map { _ in ring.pop() } == [1, 2, 3, 4])
        #expect(ring.pop() == nil)
    }

    /// The shard's way of consuming: `front()` shows the oldest element in its slot without
    /// removing it (the producer cannot reuse that slot), `dropFront()` removes it.
    @Test func frontReadsInPlaceUntilDropped() {
        let ring = SPSCRing<Int>(capacity: 4)
        #expect(ring.front() == nil, "empty")
        for i in 0..<4 { #expect(ring.push(i)) }
        let first = ring.front()
        #expect(first?.pointee == 0)
        #expect(ring.front() == first, "front() removes nothing")
        #expect(!ring.push(99), "the slot front() showed is still held")
        #expect(ring.poppedCount == 0)
        ring.dropFront()
        #expect(ring.poppedCount == 1)
        #expect(ring.push(4), "dropped: its slot is the producer's again")
        var seen: [Int] = []
        for _ in 0..<8 {  // bounded: a dropFront() that dropped nothing would loop forever
            guard let p = ring.front() else { break }
            seen.append(p.pointee)
            ring.dropFront()
        }
        #expect(seen == [1, 2, 3, 4])
        #expect(ring.pop() == nil && ring.count == 0)
    }

    /// One producer and one consumer thread pass 10^6 values; none lost, none
    /// duplicated, order kept. Real threads (Dispatch), not tasks: both sides spin,
    /// which must not occupy Swift's cooperative pool; and each side on its own serial
    /// queue (overcommit: a thread of its own, as the shards have), not the global queue,
    /// whose busy pool once ran the two one after the other (under ThreadSanitizer, with
    /// the suites in parallel: 1,024 sent, then 1,024 received). Both loops yield when they
    /// cannot proceed and give up after 60 s, so a loaded machine slows the test
    /// down instead of failing it, and a broken ring cannot hang it.
    /// The consumer takes values with `pop()`, or in place with `front()` and `dropFront()`.
    @Test(arguments: [false, true]) func twoThreadsTransferEverythingInOrder(inPlace: Bool) {
        let ring = SPSCRing<UInt64>(capacity: 1_024)
        let total: UInt64 = 1_000_000
        let deadline = DispatchTime.now() + .seconds(60)
        let group = DispatchGroup()
        let result = Mutex((sent: UInt64(0), received: UInt64(0), outOfOrder: UInt64(0)))
        DispatchQueue(label: "tally.test.producer").async(group: group) {
            var i: UInt64 = 0
            while i < total {
                if ring.push(i) {
                    i += 1
                } else {
                    if DispatchTime.now() > deadline { break }
                    sched_yield()
                }
            }
            result.withLock { $0.sent = i }
        }
        DispatchQueue(label: "tally.test.consumer").async(group: group) {
            var expected: UInt64 = 0, outOfOrder: UInt64 = 0
            while expected < total {
                let taken: UInt64?
                if inPlace {
                    taken = ring.front()?.pointee
                    if taken != nil { ring.dropFront() }
                } else {
                    taken = ring.pop()
                }
                if let v = taken {
                    if v != expected { outOfOrder += 1 }
                    expected += 1
                } else {
                    if DispatchTime.now() > deadline { break }
                    sched_yield()
                }
            }
            result.withLock { $0.received = expected; $0.outOfOrder = outOfOrder }
        }
        #expect(group.wait(timeout: .now() + .seconds(90)) == .success)
        let (sent, received, outOfOrder) = result.withLock { $0 }
        #expect(sent == total, "producer finished")
        #expect(received == total, "consumer received everything")
        #expect(outOfOrder == 0, "order kept, nothing duplicated")
        #expect(ring.pop() == nil)
    }
}

@Suite struct StashTests {
    /// The stash keeps one frame's values in a cache line, and frames still in it are
    /// in every read: reads between frames (some after a full stash was folded, some
    /// with frames still stashed) count every frame so far.
    @Test func stashedFramesAreSeenByEveryRead() {
        #expect(MemoryLayout<FrameValues>.stride <= 64)
        #expect(MemoryLayout<FrameRecord>.stride == 168, "the producer number fits the record's former padding")
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters())
        let key = SeriesKey(model: 7)
        let last = 5 * WindowTable.stashCapacity + 3
        for n in 1...last {
            table.add(FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0, values: FrameValues(
                userHash: UInt64(n), sessionHash: 1, cost: Double(n), queueTimeMicros: UInt32(n),
                timeToFirstTokenMicros: 10, totalLatencyMicros: 100, inputTokens: 5, outputTokens: 3,
                cachedInputTokens: 0, errorClass: 0, categoryID: 2, safetyKinds: [], status: .ok,
                outcome: OutcomeBits(task: .success), safetySeverity: .none)))
            guard n % (WindowTable.stashCapacity + 3) == 0 || n == last else { continue }
            let aggregate = table.aggregate(key)
            #expect(aggregate?.requests == UInt64(n))
            #expect(aggregate?.queueTime.count == UInt64(n) && aggregate?.queueTime.max == Double(n))
            #expect(aggregate?.users.estimate == Double(n))
        }
    }

    /// A busy series finds its categories through a direct-mapped cache of their list
    /// positions, left stale by new categories (which shift the list): over 100 category ids in
    /// random order (ids sharing low bits, more than ``SeriesAggregate/maxCategories`` of
    /// them), the table's counts equal a plain aggregate's, category for category.
    @Test func cachedCategoryPositionsCountAsTheList() {
        #expect(MemoryLayout<LiveSeriesAggregate>.stride <= 1_456, "Benchmarks/README.md's memory formula")
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters())
        let key = SeriesKey(model: 7)
        var reference = SeriesAggregate()
        var rng = SplitMix64(seed: 64)
        for n in 0..<20_000 {
            // Ids 0 … 99 in steps of 64 and 1: many share a cache slot.
            let id = UInt16(rng.next() % 100) * (n % 2 == 0 ? 64 : 1)
            let values = FrameValues(
                userHash: 1, sessionHash: 1, cost: 1, queueTimeMicros: 1, timeToFirstTokenMicros: 10,
                totalLatencyMicros: 100, inputTokens: 5, outputTokens: 3, cachedInputTokens: 0, errorClass: 0,
                categoryID: id, safetyKinds: [], status: .ok, outcome: OutcomeBits(task: .success), safetySeverity: .none)
            table.add(FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0, values: values))
            reference.add(values)
        }
        let aggregate = table.aggregate(key)
        #expect(aggregate?.categoryEntryCount == SeriesAggregate.maxCategories)
        #expect(aggregate?.categories == reference.categories)
        #expect(aggregate?.otherCategories == reference.otherCategories && reference.otherCategories > 0)
    }
}
