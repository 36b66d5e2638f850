import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// Breakdown keys and cohort aggregates (``TagPolicy``, SNAPSHOT.md "Cohort aggregates"):
/// the engine's cohort aggregates against a reference model that rolls the same frames up
/// by hand, through two shards, the binary form and a merge.
@Suite(.serialized) struct CohortAggregateTests {
    let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s

    /// What the reference keeps per cohort (or per series): exact sums and the exact set of users.
    struct Reference {
        var requests: UInt64 = 0
        var status = [UInt64](repeating: 0, count: 6)
        var refusals: UInt64 = 0, escalations: UInt64 = 0, fallbacks: UInt64 = 0
        var task = [UInt64](repeating: 0, count: 3)
        var feedbackUp: UInt64 = 0, feedbackDown: UInt64 = 0
        var severity = [UInt64](repeating: 0, count: 5)
        var cachedInputTokens: UInt64 = 0
        var latencyMin = UInt32.max, latencyMax: UInt32 = 0, latencySum: Double = 0
        var queueSum: Double = 0
        var ttftCount: UInt64 = 0
        var inputTokens: Double = 0, outputTokens: Double = 0
        var costSum: Double = 0, priced: UInt64 = 0
        var users = Set<UInt64>()

        mutating func add(_ f: TraceFrame, cost: Double?) {
            requests += 1
            status[Int(f.status.rawValue)] += 1
            if f.outcome.refusal { refusals += 1 }
            if f.outcome.escalation { escalations += 1 }
            if f.outcome.fallback { fallbacks += 1 }
            task[Int((f.outcome.task ?? .unknown).rawValue)] += 1
            if f.outcome.feedback == .up { feedbackUp += 1 }
            if f.outcome.feedback == .down { feedbackDown += 1 }
            if f.safetySeverity != .none { severity[Int(f.safetySeverity.rawValue)] += 1 }
            cachedInputTokens += UInt64(f.cachedInputTokens)
            latencyMin = min(latencyMin, f.totalLatencyMicros)
            latencyMax = max(latencyMax, f.totalLatencyMicros)
            latencySum += Double(f.totalLatencyMicros)
            queueSum += Double(f.queueTimeMicros)
            if f.timeToFirstTokenMicros != nil { ttftCount += 1 }
            inputTokens += Double(f.inputTokens)
            outputTokens += Double(f.outputTokens)
            if let cost { costSum += cost; priced += 1 }
            if f.userHash != 0 { users.insert(f.userHash) }
        }

        func check(_ a: SeriesAggregate, _ what: String) {
            #expect(a.requests == requests, "\(what) requests")
            #expect(a.statusCounts == status, "\(what) status")
            #expect(a.refusals == refusals && a.escalations == escalations && a.fallbacks == fallbacks, "\(what) outcomes")
            #expect(a.taskOutcomes == task, "\(what) task")
            #expect(a.feedbackUp == feedbackUp && a.feedbackDown == feedbackDown, "\(what) feedback")
            #expect(a.safetyBySeverity == severity, "\(what) safety")
            #expect(a.cachedInputTokens == cachedInputTokens, "\(what) cached tokens")
            #expect(a.totalLatency.count == requests && a.totalLatency.min == Double(latencyMin)
                    && a.totalLatency.max == Double(latencyMax), "\(what) latency count/min/max")
            #expect(abs(a.totalLatency.sum - latencySum) <= 1e-9 * latencySum, "\(what) latency sum")
            #expect(abs(a.queueTime.sum - queueSum) <= 1e-9 * max(1, queueSum), "\(what) queue sum")
            #expect(a.timeToFirstToken.count == ttftCount, "\(what) ttft count")
            #expect(abs(a.inputTokens.sum - inputTokens) <= 1e-9 * inputTokens, "\(what) input tokens")
            #expect(abs(a.outputTokens.sum - outputTokens) <= 1e-9 * max(1, outputTokens), "\(what) output tokens")
            #expect(a.cost.count == priced && abs(a.cost.sum - costSum) <= 1e-9 * max(1e-9, costSum), "\(what) cost")
            #expect(a.unpriced == requests - priced, "\(what) unpriced")
            // Fewer than 1,024 users: the HyperLogLog at p = 14 is exact.
            #expect(a.users.estimate.rounded() == Double(users.count), "\(what) users \(a.users.estimate) vs \(users.count)")
        }
    }

    func slice(_ f: TraceFrame) -> SeriesLabels {
        SeriesLabels(model: f.model, modelVersion: f.modelVersion ?? "", promptVersion: f.promptVersion ?? "",
                     route: f.route ?? "", ring: f.ring)
    }

    /// What the engine charges for `f` (nil: its model has no price).
    func cost(of f: TraceFrame) -> Double? {
        prices.price(of: f.model).map {
            $0.cost(inputTokens: f.inputTokens, cachedInputTokens: f.cachedInputTokens,
                    cacheCreationInputTokens: f.cacheCreationInputTokens, outputTokens: f.outputTokens,
                    reasoningOutputTokens: f.reasoningOutputTokens)
        }
    }

    /// Frames of a fleet whose tags are tenant, region, lang and tier, in one 10-s window.
    func frames(_ count: Int, seed: UInt64) -> [TraceFrame] {
        var rng = SplitMix64(seed: seed)
        let fleet = SyntheticFleet(tenants: 20, users: 400)
        return (0..<count).map { fleet.frame(eventTimeMicros: start + UInt64($0) * 400, &rng) }
    }

    /// Runs `frames` through a two-shard engine with `tags` and returns the window's snapshot.
    func snapshot(_ frames: [TraceFrame], tags: TagPolicy, maxSeries: Int = 50_000) throws -> (Snapshot, EngineCounters) {
        try twoShardWindow(frames, windowStart: start) {
            $0.maxSeriesPerShardWindow = maxSeries
            $0.tags = tags
        }
    }

    /// Cohort aggregates equal the roll-up of a reference model over the same frames, counter
    /// for counter; series keep the series dimension only; dropped tags are counted.
    @Test func cohortAggregatesEqualTheReferenceRollUp() throws {
        let input = frames(20_000, seed: 7)
        let (snapshot, counters) = try snapshot(input, tags: TagPolicy(seriesKeys: ["tier"], breakdownKeys: ["lang", "region"]))
        var cohorts: [SeriesLabels: Reference] = [:], series: [SeriesLabels: Reference] = [:]
        var droppedTags: UInt64 = 0
        for f in input {
            let cost = cost(of: f)
            var labels = slice(f)
            labels.tags = f.tags.filter { $0.key == "tier" }
            series[labels, default: Reference()].add(f, cost: cost)
            for tag in f.tags {
                if tag.key == "lang" || tag.key == "region" {
                    var cohort = slice(f)
                    cohort.tags = [tag]
                    cohorts[cohort, default: Reference()].add(f, cost: cost)
                } else if tag.key != "tier" {
                    droppedTags += 1
                }
            }
        }
        #expect(droppedTags == 20_000, "every frame carries a tenant")
        #expect(counters.tagsDropped == droppedTags)
        #expect(counters.cohortsRefused == 0)
        #expect(snapshot.series.count == series.count && snapshot.cohorts.count == cohorts.count,
                "\(snapshot.series.count) series, \(snapshot.cohorts.count) cohorts")
        #expect(snapshot.cohorts.count > 100, "the fleet has many slices × (6 languages + 4 regions)")
        #expect(snapshot.counters["cohorts.active"] == UInt64(cohorts.count))
        for s in snapshot.series {
            let reference = try #require(series[s.labels], "unexpected series \(s.labels)")
            #expect(s.aggregate.requests == reference.requests)
        }
        for c in snapshot.cohorts {
            let reference = try #require(cohorts[c.labels], "unexpected cohort \(c.labels)")
            reference.check(c.aggregate, "\(c.labels.model)/\(c.labels.route)/\(c.labels.tags[0])")
            #expect(c.aggregate.timePerOutputToken.count == 0 && c.aggregate.sessions.estimate == 0,
                    "cohort aggregates keep no time per output token and no sessions")
        }
        // A key's cohorts partition the frames that carry it (every frame has a lang and a region).
        for key in ["lang", "region"] {
            #expect(snapshot.cohorts.filter { $0.labels.tags[0].key == key }.reduce(0) { $0 + $1.aggregate.requests } == 20_000)
        }
        #expect(snapshot.requests == 20_000, "totals are the series' alone")
        // Whole series (not cohorts) reference: every series aggregate matches too.
        for s in snapshot.series { series[s.labels]!.check(s.aggregate, "series \(s.labels.model)") }
    }

    /// The sum, not the product: with four tag keys as breakdown keys the window holds one
    /// series per slice and a cohort per slice and value; as series dimensions, a series per
    /// combination.
    @Test func breakdownKeysAddUpWhereSeriesDimensionsMultiply() throws {
        let input = frames(20_000, seed: 11)
        let (split, _) = try snapshot(input, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["tenant", "region", "lang", "tier"]))
        let (legacy, _) = try snapshot(input, tags: .legacy)
        let slices = Set(input.map(slice))
        #expect(split.series.count == slices.count)
        #expect(legacy.series.count > 2 * (split.series.count + split.cohorts.count),
                "\(legacy.series.count) legacy series vs \(split.series.count) + \(split.cohorts.count)")
        // Per slice: exactly one cohort per distinct (key, value) its frames carried.
        var seen: [SeriesLabels: Set<CohortTag>] = [:]
        for f in input { seen[slice(f), default: []].formUnion(f.tags) }
        let perSlice = Dictionary(grouping: split.cohorts, by: { SeriesLabels(model: $0.labels.model, modelVersion: $0.labels.modelVersion,
                                                                                promptVersion: $0.labels.promptVersion, route: $0.labels.route,
                                                                                ring: $0.labels.ring) })
        #expect(perSlice.count == slices.count)
        for (labels, cohorts) in perSlice { #expect(Set(cohorts.map { $0.labels.tags[0] }) == seen[labels]) }
        #expect(legacy.cohorts.isEmpty)
        // The same frames, the same totals.
        #expect(split.requests == legacy.requests)
    }

    /// A cohort aggregate never folds into the overflow series: past the cap it is refused and
    /// counted, and the series' totals stay whole.
    @Test func refusedCohortsAreCountedAndLoseNoFrame() throws {
        let input = frames(5_000, seed: 3)
        let (snapshot, counters) = try snapshot(input, tags: TagPolicy(breakdownKeys: ["tenant", "lang"]), maxSeries: 40)
        #expect(counters.cohortsRefused > 0)
        #expect(snapshot.requests == 5_000, "every frame is in a series or the overflow series")
        let cohortRequests = snapshot.cohorts.reduce(0) { $0 + $1.aggregate.requests }
        #expect(cohortRequests + counters.cohortsRefused == 2 * 5_000, "each frame feeds two cohorts or is counted refused")
        #expect(!snapshot.cohorts.contains { $0.labels.model == SeriesLabels.overflow.model })
    }

    /// A frame's breakdown tag feeds its cohort; its other tags are dropped and counted; its
    /// series has no tags.
    @Test func unconfiguredTagsAreDroppedAndCounted() throws {
        let frame = TraceFrame(eventTimeMicros: start + 1_000, model: "m",
                               tags: [CohortTag("x", "y"), CohortTag("lang", "de"), CohortTag("tenant", "t")],
                               totalLatencyMicros: 10)
        let (snapshot, counters) = try snapshot([frame, frame], tags: TagPolicy(breakdownKeys: ["lang"]))
        #expect(counters.tagsDropped == 4)
        #expect(snapshot.cohorts.count == 1 && snapshot.cohorts[0].aggregate.requests == 2)
        #expect(snapshot.cohorts[0].labels.tags == [CohortTag("lang", "de")])
        #expect(snapshot.series.count == 1 && snapshot.series[0].labels.tags.isEmpty)
    }

    /// The binary form: flags bit 0 and a cohort section after the series; decodes to the same
    /// snapshot; merges add cohorts like series; bad cohort sections are refused by name.
    @Test func cohortSectionRoundTripsMergesAndIsValidated() throws {
        let input = frames(3_000, seed: 5)
        let (snapshot, _) = try snapshot(input, tags: TagPolicy(breakdownKeys: ["lang"]))
        let bytes = SnapshotCodec.encode(snapshot)
        #expect(bytes[5] & ~SnapshotCodec.emptySketchesFlag == SnapshotCodec.cohortsFlag)
        let decoded = try SnapshotCodec.decode(bytes)
        #expect(SnapshotCodec.encode(decoded) == bytes)
        #expect(decoded.cohorts.map(\.labels) == snapshot.cohorts.map(\.labels))
        #expect(zip(decoded.cohorts, snapshot.cohorts).allSatisfy { $0.aggregate.requests == $1.aggregate.requests })
        #expect(snapshot.jsonLine().contains("\"cohorts\":[{\"model\""))

        var other = snapshot
        other.sequences = [Snapshot.SequenceRange(collectorID: "d", first: 0, last: 0)]
        let merged = try Snapshot.merged([snapshot, other], collectorID: "m")
        #expect(merged.cohorts.count == snapshot.cohorts.count)
        #expect(merged.cohorts.reduce(0) { $0 + $1.aggregate.requests } == 2 * 3_000)
        #expect(merged.counters["cohorts.active"] == UInt64(snapshot.cohorts.count))

        // Without cohorts, flags bit 0 is clear (bit 4: the series' empty sketches are zero bytes).
        var plain = snapshot
        plain.cohorts = []
        #expect(SnapshotCodec.encode(plain)[5] & ~SnapshotCodec.emptySketchesFlag == 0)
        // An unknown flag bit is refused.
        var unknownFlag = bytes
        unknownFlag[5] = 3
        #expect(throws: SnapshotCodecError.self) { try SnapshotCodec.decode(unknownFlag) }
        // The flag without its section: the bytes end early.
        var missing = SnapshotCodec.encode(plain)
        missing[5] |= SnapshotCodec.cohortsFlag
        #expect(throws: SnapshotCodecError.truncated("cohort_count")) { try SnapshotCodec.decode(missing) }
        // A cohort with two tags is refused.
        var twoTags = snapshot
        twoTags.cohorts[0].labels.tags.append(CohortTag("zz", "1"))
        #expect(throws: SnapshotCodecError.invalid("cohort[0].tag_count", "2, must be 1")) {
            try SnapshotCodec.decode(SnapshotCodec.encode(twoTags))
        }
    }

    /// Summarized distributions (tallyd's default `cohort_distributions` leaves queue time and
    /// the token counts as summaries): each keeps its exact count, min, max and sum in one
    /// centroid, against the reference; the full digests and the series are untouched; the
    /// header carries the set, decoding re-applies it, a merge takes the union, the JSON
    /// line's quantiles are null, and bits that are not distributions are refused.
    @Test func summarizedCohortDistributionsKeepExactSums() throws {
        let input = frames(20_000, seed: 13)
        let tags = TagPolicy(seriesKeys: [], breakdownKeys: ["lang", "region"])
        let summaries: SummarizedDigests = [.queueTime, .inputTokens, .outputTokens]
        let (full, _) = try snapshot(input, tags: tags)
        let (lean, _) = try twoShardWindow(input, windowStart: start) {
            $0.tags = tags
            $0.cohortSummaries = summaries
        }
        #expect(full.cohortSummaries.isEmpty && lean.cohortSummaries == summaries)
        var references: [SeriesLabels: Reference] = [:]
        for f in input {
            for tag in f.tags where tag.key == "lang" || tag.key == "region" {
                var cohort = slice(f)
                cohort.tags = [tag]
                references[cohort, default: Reference()].add(f, cost: cost(of: f))
            }
        }
        #expect(lean.cohorts.count == references.count && lean.cohorts.map(\.labels) == full.cohorts.map(\.labels))
        var multiValued = 0
        for (c, f) in zip(lean.cohorts, full.cohorts) {
            try #require(references[c.labels]).check(c.aggregate, "summarized \(c.labels.model)/\(c.labels.tags[0])")
            for (summary, digest) in [(c.aggregate.queueTime, f.aggregate.queueTime), (c.aggregate.inputTokens, f.aggregate.inputTokens),
                                      (c.aggregate.outputTokens, f.aggregate.outputTokens)] {
                #expect(summary.count == digest.count && summary.min == digest.min && summary.max == digest.max
                        && summary.sum == digest.sum)
                if digest.count > 1 {
                    #expect(summary.centroidCount == 1)
                    // Different values, which the full digest keeps apart (merged or still in
                    // its buffer: a series buckets, and merges, from its first stash fold
                    // past 64 requests) and the summary holds as one centroid.
                    if digest.min < digest.max { multiValued += 1 }
                }
            }
            #expect(c.aggregate.totalLatency.centroidList.count == f.aggregate.totalLatency.centroidList.count
                    && c.aggregate.cost.centroidList.count == f.aggregate.cost.centroidList.count, "kept in full")
        }
        #expect(multiValued > 100, "the summaries replaced real digests")
        var seriesOnly = (lean, full)
        seriesOnly.0.cohorts = []; seriesOnly.1.cohorts = []
        seriesOnly.0.counters = [:]; seriesOnly.1.counters = [:]  // the engine's memory differs
        let sameSeries = SnapshotCodec.encode(seriesOnly.0) == SnapshotCodec.encode(seriesOnly.1)
        #expect(sameSeries, "series untouched")

        let bytes = SnapshotCodec.encode(lean), fullBytes = SnapshotCodec.encode(full)
        #expect(bytes[6] == summaries.rawValue | SnapshotCodec.leanSummariesBit && fullBytes[6] == 0)
        #expect(bytes.count < fullBytes.count, "\(bytes.count) vs \(fullBytes.count) bytes")
        let decoded = try SnapshotCodec.decode(bytes)
        #expect(decoded.cohortSummaries == summaries)
        // (Not byte for byte: a series' centroid at a non-float min or max comes back as
        // that bound, which a Float mean cannot hold, and is then rounded otherwise.)
        #expect(zip(decoded.cohorts, lean.cohorts).allSatisfy { d, c in
            [(d.aggregate.queueTime, c.aggregate.queueTime), (d.aggregate.inputTokens, c.aggregate.inputTokens),
             (d.aggregate.outputTokens, c.aggregate.outputTokens)].allSatisfy { $0.compactSerialized() == $1.compactSerialized() }
        }, "summaries read back as written")
        // A writer that put full digests under the bits: the reader makes them summaries.
        var claimed = fullBytes
        claimed[6] = summaries.rawValue
        let reread = try SnapshotCodec.decode(claimed)
        #expect(reread.cohorts.allSatisfy { $0.aggregate.queueTime.count <= 1 || $0.aggregate.queueTime.centroidCount == 1 })
        #expect(zip(reread.cohorts, full.cohorts).allSatisfy {
            $0.aggregate.totalLatency.centroidList.count == $1.aggregate.totalLatency.centroidList.count
        }, "what the header does not name stays whole")

        let json = lean.jsonLine()
        #expect(json.contains("\"cohort_summaries\":[\"queue\",\"input_tokens\",\"output_tokens\"]"))
        let cohortJSON = String(json[json.range(of: "\"cohorts\":[")!.upperBound...])
        #expect(cohortJSON.contains("\"queue_us\":{\"count\":") && cohortJSON.contains("\"p95\":null"))
        #expect(!full.jsonLine().contains("cohort_summaries"))

        // Merged with a collector that keeps every distribution: the union, summaries again.
        var other = full
        other.sequences = [Snapshot.SequenceRange(collectorID: "d", first: 0, last: 0)]
        let merged = try Snapshot.merged([lean, other], collectorID: "m")
        #expect(merged.cohortSummaries == summaries)
        for (m, c) in zip(merged.cohorts, lean.cohorts) {
            #expect(m.aggregate.inputTokens.count == 2 * c.aggregate.inputTokens.count
                    && m.aggregate.inputTokens.sum == 2 * c.aggregate.inputTokens.sum)
            #expect(m.aggregate.inputTokens.count <= 1 || m.aggregate.inputTokens.centroidCount == 1)
        }

        // Bit 3 (time per output token) is not a distribution a cohort keeps; bit 7 (lean)
        // needs a summary; any bit without the cohort section is refused.
        var wrong = bytes
        wrong[6] = 1 << 3
        #expect(throws: SnapshotCodecError.invalid("cohort_summaries", "unknown bits 8")) { try SnapshotCodec.decode(wrong) }
        wrong[6] = SnapshotCodec.leanSummariesBit
        #expect(throws: SnapshotCodecError.invalid("cohort_summaries", "the lean bit without summaries or in version 1")) {
            try SnapshotCodec.decode(wrong)
        }
        var noCohorts = full
        noCohorts.cohorts = []
        var orphan = SnapshotCodec.encode(noCohorts)
        orphan[6] = 1
        #expect(throws: SnapshotCodecError.invalid("cohort_summaries", "set without the cohorts flag")) {
            try SnapshotCodec.decode(orphan)
        }
    }

    /// `cohortCategories` false (tallyd's default `cohort_categories`): every cohort's
    /// category histogram is empty and the snapshot smaller, while the series and every
    /// other field of the cohorts are as with it true, whose histograms count each
    /// cohort's categorized frames.
    @Test func cohortsWithoutCategoriesKeepEverythingElse() throws {
        let input = frames(20_000, seed: 17)
        let tags = TagPolicy(seriesKeys: [], breakdownKeys: ["lang", "region"])
        let (kept, _) = try snapshot(input, tags: tags)
        let (left, _) = try twoShardWindow(input, windowStart: start) {
            $0.tags = tags
            $0.cohortCategories = false
        }
        var categorized: [SeriesLabels: UInt64] = [:]
        for f in input where f.categoryID != nil {
            for tag in f.tags where tag.key == "lang" || tag.key == "region" {
                var cohort = slice(f)
                cohort.tags = [tag]
                categorized[cohort, default: 0] += 1
            }
        }
        #expect(categorized.values.reduce(0, +) > 10_000, "the fleet's frames carry categories")
        for c in kept.cohorts {
            let counted = c.aggregate.categories.values.reduce(0, +) + c.aggregate.otherCategories
            #expect(counted == categorized[c.labels, default: 0], "\(c.labels.tags[0])")
        }
        #expect(left.cohorts.count == kept.cohorts.count)
        #expect(left.cohorts.allSatisfy { $0.aggregate.categories.isEmpty && $0.aggregate.otherCategories == 0 })
        var cleared = kept
        for i in cleared.cohorts.indices {
            cleared.cohorts[i].aggregate.categories = [:]
            cleared.cohorts[i].aggregate.otherCategories = 0
        }
        var a = cleared, b = left
        a.counters = [:]; b.counters = [:]  // the engine's memory differs
        let same = SnapshotCodec.encode(a) == SnapshotCodec.encode(b)
        #expect(same, "series and the cohorts' other fields as with categories")
        let leftBytes = SnapshotCodec.encode(left).count, keptBytes = SnapshotCodec.encode(kept).count
        #expect(leftBytes < keptBytes, "\(leftBytes) vs \(keptBytes) bytes")
    }

    /// Version 2 writes summaries lean (`cohort_summaries` bit 7): no centroids, ≥ 5 bytes
    /// less each, read back as the same summaries; version 1 writes them whole without the bit,
    /// and its readers get the same values; the bit is refused in version 1.
    @Test func summariesAreWrittenLeanInVersion2() throws {
        let input = frames(8_000, seed: 23)
        let summaries: SummarizedDigests = [.queueTime, .inputTokens, .outputTokens]
        let (lean, _) = try twoShardWindow(input, windowStart: start) {
            $0.tags = TagPolicy(seriesKeys: [], breakdownKeys: ["lang", "region"])
            $0.cohortSummaries = summaries
        }
        let v2 = SnapshotCodec.encode(lean), v1 = SnapshotCodec.encode(lean, version: 1)
        #expect(v2[6] == summaries.rawValue | SnapshotCodec.leanSummariesBit && v1[6] == summaries.rawValue)
        func summaryDigests(_ s: Snapshot) -> [[UInt8]] {
            s.cohorts.flatMap { [$0.aggregate.queueTime, $0.aggregate.inputTokens, $0.aggregate.outputTokens].map { $0.compactSerialized() } }
        }
        let fromV2 = try SnapshotCodec.decode(v2), fromV1 = try SnapshotCodec.decode(v1)
        #expect(summaryDigests(fromV2) == summaryDigests(lean) && summaryDigests(fromV1) == summaryDigests(lean))
        // ≥ 5 bytes less for each summary of more than one value (its centroid count, Rice
        // parameter, key and weight): the whole form written with the bit cleared reads the same.
        let multi = lean.cohorts.reduce(0) { total, c in
            total + [c.aggregate.queueTime, c.aggregate.inputTokens, c.aggregate.outputTokens].filter { $0.count > 1 }.count
        }
        #expect(multi > 100)
        var whole = lean
        whole.cohortSummaries = []  // written whole, then named summaries again below
        var wholeBytes = SnapshotCodec.encode(whole)
        wholeBytes[6] = summaries.rawValue
        #expect(wholeBytes.count - v2.count >= 5 * multi, "\(wholeBytes.count) vs \(v2.count) bytes, \(multi) summaries")
        let fromWhole = try SnapshotCodec.decode(wholeBytes)
        #expect(summaryDigests(fromWhole) == summaryDigests(lean))
        #expect(fromV2.cohorts.map { $0.aggregate.totalLatency.compactSerialized() }
                == fromWhole.cohorts.map { $0.aggregate.totalLatency.compactSerialized() }, "full digests as before")
        var flagged = v1
        flagged[6] |= SnapshotCodec.leanSummariesBit
        #expect(throws: SnapshotCodecError.invalid("cohort_summaries", "the lean bit without summaries or in version 1")) {
            try SnapshotCodec.decode(flagged)
        }
        // Merged with itself from another collector: still lean, still the summaries of the sums.
        var other = lean
        other.sequences = [Snapshot.SequenceRange(collectorID: "d", first: 0, last: 0)]
        let merged = try Snapshot.merged([lean, other], collectorID: "m")
        let mergedBytes = SnapshotCodec.encode(merged)
        #expect(mergedBytes[6] & SnapshotCodec.leanSummariesBit != 0)
        #expect(summaryDigests(try SnapshotCodec.decode(mergedBytes)) == summaryDigests(merged))
    }

    @Test func policiesAreValidated() {
        #expect(TagPolicy.legacy.role(of: "anything") == .dimension)
        let policy = TagPolicy(seriesKeys: ["tenant"], breakdownKeys: ["lang"])
        #expect(policy.role(of: "tenant") == .dimension && policy.role(of: "lang") == .breakdown && policy.role(of: "x") == .dropped)
        #expect(TagPolicy(breakdownKeys: ["lang"]).role(of: "tenant") == .dropped)
        #expect(TagPolicy(seriesKeys: ["lang"], breakdownKeys: ["lang"]).validationError() != nil)
        #expect(TagPolicy(breakdownKeys: ["a", "b", "c", "d", "e"]).validationError() != nil)
        #expect(TagPolicy(breakdownKeys: ["a", "a"]).validationError() != nil)
        #expect(policy.validationError() == nil)
    }
}
