#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

@Suite struct SnapshotCodecTests {
    static let sample: Snapshot = try! snapshot(of: fleet(2_000, seed: 11), collector: "collector-a", sequence: 42)

    @Test func roundTripIsByteExact() throws {
        let bytes = SnapshotCodec.encode(Self.sample)
        let back = try SnapshotCodec.decode(bytes)
        #expect(SnapshotCodec.encode(back) == bytes)
        #expect(back.collectorID == "collector-a" && back.sequences == Self.sample.sequences)
        #expect(back.windowStartMicros == Self.sample.windowStartMicros && back.counters == Self.sample.counters)
        #expect(back.series.count == Self.sample.series.count)
        for (x, y) in zip(back.series, Self.sample.series) {
            #expect(x.labels == y.labels && x.errorClasses == y.errorClasses)
            #expect(x.aggregate.requests == y.aggregate.requests && x.aggregate.statusCounts == y.aggregate.statusCounts)
            #expect(x.aggregate.totalLatency.quantile(0.9) == (try TDigest(compactSerialized: y.aggregate.totalLatency.compactSerialized(), compression: y.aggregate.totalLatency.compression, scale: y.aggregate.totalLatency.scale, meanKeyBits: 21)).quantile(0.9))
            #expect(x.aggregate.users.estimate == y.aggregate.users.estimate)
            #expect(x.aggregate.categories == y.aggregate.categories)
        }
        // A decoded snapshot merges like the original.
        let merged = try Snapshot.merged([back, try snapshot(of: fleet(500, seed: 12), collector: "b", sequence: 1)],
                                         collectorID: "r")
        #expect(merged.requests == 2_500)
    }

    /// Tally writes a series' categories in id order and the reader takes them as they are;
    /// entries in another order, or an id given twice (the last count stands), still read as
    /// the dictionary they describe (SNAPSHOT.md, "categories").
    @Test func categoriesReadInAnyOrder() throws {
        var frames: [TraceFrame] = []
        for category: UInt16 in [5, 3, 5] {
            var frame = fleet(1, seed: 17)[0]
            frame.categoryID = category
            frames.append(frame)
        }
        let bytes = SnapshotCodec.encode(try snapshot(of: frames, collector: "c", sequence: 1))
        // count 2, (3, 1), (5, 2), other 0: as written.
        let written: [UInt8] = [2, 3, 1, 5, 2, 0]
        let at = (0...(bytes.count - written.count)).filter { Array(bytes[$0..<($0 + written.count)]) == written }
        try #require(at.count == 1, "the categories' bytes at \(at)")
        #expect(try SnapshotCodec.decode(bytes).series[0].aggregate.categories == [3: 1, 5: 2])

        var swapped = bytes
        swapped.replaceSubrange(at[0]..<(at[0] + written.count), with: [2, 5, 2, 3, 1, 0])
        let read = try SnapshotCodec.decode(swapped)
        #expect(read.series[0].aggregate.categories == [3: 1, 5: 2])
        #expect(SnapshotCodec.encode(read) == bytes, "re-encoded in id order")

        var repeated = bytes
        repeated.replaceSubrange(at[0]..<(at[0] + written.count), with: [2, 3, 1, 3, 2, 0])
        #expect(try SnapshotCodec.decode(repeated).series[0].aggregate.categories == [3: 2])
    }

    /// Issue 4's size goals: ≤ 256 B for a series that saw one frame.
    @Test func oneFrameSeriesIsSmall() throws {
        let one = try snapshot(of: Array(fleet(1, seed: 13)), collector: "c", sequence: 1)
        let empty = try snapshot(of: [], collector: "c", sequence: 1, allowEmpty: true)
        let perSeries = SnapshotCodec.encode(one).count - SnapshotCodec.encode(empty).count
        #expect(perSeries <= 256, "one-frame series: \(perSeries) B")
    }

    @Test func malformedBytesAreRejected() {
        let bytes = SnapshotCodec.encode(Self.sample)
        func rejects(_ b: [UInt8]) -> Bool { (try? SnapshotCodec.decode(b)) == nil }
        for length in Array(0..<min(400, bytes.count)) + Array(stride(from: 400, to: bytes.count, by: max(1, bytes.count / 200))) {
            #expect(rejects(Array(bytes.prefix(length))), "prefix \(length)")
        }
        #expect(rejects(bytes + [0]))
        var bad = bytes; bad[0] = 0x58; #expect(rejects(bad))
        bad = bytes; bad[4] = 3; #expect(rejects(bad))
        bad = bytes; bad[4] = 0; #expect(rejects(bad))
        bad = bytes; bad[5] = 1; #expect(rejects(bad))
        bad = bytes; for i in 16..<24 { bad[i] = 0 }; #expect(rejects(bad))   // end before start
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            var b = bytes
            b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255)
            _ = try? SnapshotCodec.decode(b)  // must not trap
        }
    }
}

/// Version 2 (compact digests and numbers) against version 1 (SNAPSHOT.md, "Compatibility").
@Suite struct SnapshotVersionTests {
    static let sample = SnapshotCodecTests.sample

    @Test func bothVersionsDecodeToTheSameAggregates() throws {
        let v1 = SnapshotCodec.encode(Self.sample, version: 1), v2 = SnapshotCodec.encode(Self.sample)
        #expect(v1[4] == 1 && v2[4] == 2)
        let a = try SnapshotCodec.decode(v1), b = try SnapshotCodec.decode(v2)
        #expect(SnapshotCodec.encode(a, version: 1) == v1, "v1 still round-trips byte for byte")
        #expect(SnapshotCodec.encode(b) == v2, "v2 round-trips byte for byte")
        #expect(SnapshotCodec.window(of: v1)! == SnapshotCodec.window(of: v2)!)
        #expect(a.counters == b.counters && a.sequences == b.sequences && a.series.count == b.series.count)
        let bound = 1.0 / 1024  // SNAPSHOT.md: means within 2^−10 at B = 21
        for (x, y) in zip(a.series, b.series) {
            #expect(x.labels == y.labels && x.errorClasses == y.errorClasses && x.aggregate.requests == y.aggregate.requests)
            #expect(x.aggregate.users.estimate == y.aggregate.users.estimate)
            for (d1, d2) in zip(digests(x.aggregate), digests(y.aggregate)) {
                #expect(d1.count == d2.count && d1.rejected == d2.rejected)
                guard d1.count > 0 else { continue }
                #expect(d1.min == d2.min && d1.max == d2.max && d1.sum == d2.sum, "min, max and sum stay exact")
                for q in [0.01, 0.25, 0.5, 0.9, 0.99, 0.999] {
                    let e1 = d1.quantile(q), e2 = d2.quantile(q)
                    #expect(abs(e2 - e1) <= bound * abs(e1) * 1.000_001 + 1e-12, "q \(q): v1 \(e1), v2 \(e2)")
                }
            }
        }
        // This sample has ~1,000 series of 1–4 frames, where labels and HyperLogLogs weigh most: 0.64 measured.
        #expect(Double(v2.count) < 0.7 * Double(v1.count), "v2 \(v2.count) B, v1 \(v1.count) B")
        // Versions merge with each other; the merge is written as version 2.
        let merged = try Snapshot.merged([a, try snapshot(of: fleet(300, seed: 14), collector: "z", sequence: 1)], collectorID: "m")
        #expect(SnapshotCodec.encode(merged)[4] == 2 && merged.requests == Self.sample.requests + 300)
    }

    /// SNAPSHOT.md, "Empty sketches": version 2 writes an empty digest or HyperLogLog as zero
    /// bytes (2 and 3 bytes less) and sets flags bit 4 only when it did; the reader takes them as
    /// the empty sketches version 1 spells out; zero bytes without the bit, or the bit in
    /// version 1, are refused.
    @Test func emptySketchesAreZeroBytesInVersion2() throws {
        // Every frame of the sample has a user and a session: a few series lose theirs here.
        var sample = Self.sample
        for i in stride(from: 0, to: sample.series.count, by: 7) {
            sample.series[i].aggregate.sessions = HyperLogLog(precision: sample.sketches.hllPrecision)
        }
        let v1 = SnapshotCodec.encode(sample, version: 1), v2 = SnapshotCodec.encode(sample)
        var emptyDigests = 0, emptySketches = 0
        for s in sample.series {
            emptyDigests += digests(s.aggregate).filter { $0.count == 0 && $0.rejected == 0 }.count
            emptySketches += [s.aggregate.users, s.aggregate.sessions].filter(\.isEmpty).count
        }
        #expect(emptyDigests > 100 && emptySketches >= sample.series.count / 7, "the sample has empty sketches: \(emptyDigests), \(emptySketches)")
        #expect(v2[5] & SnapshotCodec.emptySketchesFlag != 0 && v1[5] & SnapshotCodec.emptySketchesFlag == 0)
        let a = try SnapshotCodec.decode(v1), b = try SnapshotCodec.decode(v2)
        #expect(SnapshotCodec.encode(b) == v2, "round trip byte for byte")
        for (x, y) in zip(a.series, b.series) {
            for (d1, d2) in zip(digests(x.aggregate), digests(y.aggregate)) where d1.count == 0 {
                #expect(d2.count == 0 && d2.rejected == d1.rejected)
                #expect(d2.compression == d1.compression && d2.scale == d1.scale)
            }
            for (h1, h2) in [(x.aggregate.users, y.aggregate.users), (x.aggregate.sessions, y.aggregate.sessions)] {
                #expect(h1.isEmpty == h2.isEmpty && h2.precision == h1.precision)
                if h1.isEmpty { #expect(h2.isExact && h2.estimate == 0) }
            }
        }
        // Without an empty sketch, no bit: the series whose every sketch took values.
        var full = sample
        full.series = sample.series.filter { s in
            digests(s.aggregate).allSatisfy { $0.count > 0 } && !s.aggregate.users.isEmpty && !s.aggregate.sessions.isEmpty
        }
        #expect(full.series.count > 10)
        #expect(SnapshotCodec.encode(full)[5] & SnapshotCodec.emptySketchesFlag == 0)
        var noBit = v2; noBit[5] &= ~SnapshotCodec.emptySketchesFlag
        #expect(throws: SnapshotCodecError.self, "zero bytes without flags bit 4") { try SnapshotCodec.decode(noBit) }
        var inV1 = v1; inV1[5] |= SnapshotCodec.emptySketchesFlag
        #expect(throws: SnapshotCodecError.invalid("flags", "the empty-sketches bit in version 1")) { try SnapshotCodec.decode(inV1) }
    }

    @Test func meanKeyBitsAreReadFromTheHeader() throws {
        for bits in [12, 16, 28] {
            let bytes = SnapshotCodec.encode(Self.sample, meanKeyBits: bits)
            let back = try SnapshotCodec.decode(bytes)
            #expect(SnapshotCodec.encode(back, meanKeyBits: bits) == bytes, "B = \(bits)")
            let bound = 1 / Double(1 << (bits - 11))  // 2^−(B − 11), SNAPSHOT.md
            for (x, y) in zip(back.series, Self.sample.series) where y.aggregate.totalLatency.count > 1 {
                let e = y.aggregate.totalLatency.quantile(0.5), g = x.aggregate.totalLatency.quantile(0.5)
                #expect(abs(g - e) <= bound * e + 1e-9, "B = \(bits): \(g) vs \(e)")
            }
        }
        // The header byte is validated: widths outside 12 … 28 are refused.
        let bytes = SnapshotCodec.encode(Self.sample)
        let at = headerLength(bytes) - 1
        #expect(bytes[at] == 21)
        for bad: UInt8 in [0, 11, 29, 64] {
            var b = bytes; b[at] = bad
            #expect(throws: SnapshotCodecError.invalid("mean_key_bits", "\(bad) not in 12…28")) { try SnapshotCodec.decode(b) }
        }
    }

    @Test func heavyHitterWeightsAreNumbers() throws {
        var hh = HeavyHitters(capacity: 4)
        for (key, weight) in [(1, 3.0), (2, 0.25), (3, 1e-9), (1, 2.0)] { hh.insert(UInt64(key), weight: weight) }
        var sample = Self.sample
        let l = sample.series[0].labels
        sample.heavyHitters = [SliceHeavyHitters(labels: SeriesLabels(model: l.model, modelVersion: l.modelVersion,
                                                                      promptVersion: l.promptVersion, route: l.route, ring: l.ring),
                                                 usersByRequests: hh, usersByCost: hh)]
        for version: UInt8 in [1, 2] {
            let back = try SnapshotCodec.decode(SnapshotCodec.encode(sample, version: version))
            #expect(back.heavyHitters.first?.usersByCost.entries == hh.entries, "v\(version)")
            #expect(back.heavyHitters.first?.usersByCost.totalWeight == hh.totalWeight, "v\(version)")
        }
    }

    /// Version 2 writes the cost summaries in units of 2^-32 USD (flags bit 3): weights on
    /// that grid (tallyd's, ``HeavyHitterCost/weight(_:)``) as short integers, others
    /// through the escape, both read back bit for bit; a total too large to scale leaves
    /// the bit clear; version 1 never sets it and refuses it.
    @Test func costSummariesAreWrittenInUnitsOfTwoToTheMinus32() throws {
        #expect(HeavyHitterCost.weight(0.25) == 0.25 && HeavyHitterCost.weight(1e-12) == 0x1p-32)
        #expect(HeavyHitterCost.weight(0.1) > 0.1 && HeavyHitterCost.weight(0.1) - 0.1 < 0x1p-32)
        let l = Self.sample.series[0].labels
        let labels = SeriesLabels(model: l.model, modelVersion: l.modelVersion, promptVersion: l.promptVersion,
                                  route: l.route, ring: l.ring)
        func sample(costs: [Double]) throws -> Snapshot {
            var byCost = HeavyHitters(capacity: 4), byRequests = HeavyHitters(capacity: 4)
            for (i, c) in costs.enumerated() {
                byCost.insert(UInt64(i % 5 + 1), weight: c)
                byRequests.insert(UInt64(i % 5 + 1), weight: 1)
            }
            var s = Self.sample
            s.heavyHitters = [SliceHeavyHitters(labels: labels, usersByRequests: byRequests, usersByCost: byCost)]
            return s
        }
        var rng = SplitMix64(seed: 32)
        let raw = (0..<200).map { _ in Double(rng.next() % 1_000_000) * 1.7e-9 }  // ~0.1 cent a frame
        let gridded = try sample(costs: raw.map(HeavyHitterCost.weight))
        let offGrid = try sample(costs: raw)
        let huge = try sample(costs: [1e300, 2e300])
        var sizes: [Int] = []
        for s in [gridded, offGrid, huge] {
            let bytes = SnapshotCodec.encode(s)
            let want = s.heavyHitters[0].usersByCost
            #expect(bytes[5] & SnapshotCodec.costUnitsFlag == (want.totalWeight < 1e100 ? SnapshotCodec.costUnitsFlag : 0))
            let got = try #require(try SnapshotCodec.decode(bytes).heavyHitters.first?.usersByCost)
            #expect(got.totalWeight.bitPattern == want.totalWeight.bitPattern, "W to the last bit")
            #expect(got.entries.map { [$0.key, $0.estimate.bitPattern, $0.error.bitPattern] }
                    == want.entries.map { [$0.key, $0.estimate.bitPattern, $0.error.bitPattern] })
            sizes.append(bytes.count)
            let v1 = SnapshotCodec.encode(s, version: 1)
            #expect(v1[5] & SnapshotCodec.costUnitsFlag == 0)
            var flagged = v1
            flagged[5] |= SnapshotCodec.costUnitsFlag
            #expect(throws: SnapshotCodecError.invalid("flags", "the cost-units bit without the heavy-hitter bit or in version 1")) {
                try SnapshotCodec.decode(flagged)
            }
        }
        // 9 numbers (W, 4 estimates, 4 errors): 9-byte escapes off the grid, ≤ 6 bytes on it.
        #expect(sizes[1] - sizes[0] >= 9 * 3, "\(sizes)")
        // W on the grid, byte for byte: 0.5 USD = 2^31 units, zigzag 2^32, prefix 2^33: a 5-byte varint.
        let half = try sample(costs: [0.25, 0.25])
        let bytes = SnapshotCodec.encode(half)
        let w: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x20]
        #expect((0...(bytes.count - 5)).contains { Array(bytes[$0..<$0 + 5]) == w })
        #expect(try SnapshotCodec.decode(bytes).heavyHitters[0].usersByCost.totalWeight == 0.5)
    }

    func digests(_ a: SeriesAggregate) -> [TDigest] {
        [a.queueTime, a.timeToFirstToken, a.totalLatency, a.timePerOutputToken, a.inputTokens, a.outputTokens, a.cost]
    }

    /// The `snapshot` fuzz target's finding of 2026-12-04 (Fuzz/corpus/snapshot/regression-
    /// compact-reencode): a version-1 snapshot whose digest's last means (144.9765625) sit
    /// below a max that is not a 32-bit float (145.00000001…). The first encoding rounded
    /// them to the nearest key, 145.0; the writer then took 145.0 for max (same Float) and
    /// rounded it up, so encode(decode(encode(s))) differed. Now only a mean equal to max
    /// is rounded up.
    @Test func reencodingTheFuzzFindingIsStable() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/corpus/snapshot/regression-compact-reencode").path
        let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let encoded = SnapshotCodec.encode(try SnapshotCodec.decode(input))
        #expect(SnapshotCodec.encode(try SnapshotCodec.decode(encoded)) == encoded)
    }

    /// Bytes up to and including `mean_key_bits` (the header before counter_count).
    func headerLength(_ bytes: [UInt8]) -> Int {
        var r = SnapshotReader(bytes: bytes)
        r.offset = 24
        let strings = try! r.count("", max: 1 << 20)
        for _ in 0..<strings { let n = try! r.count("", max: 1 << 16); _ = try! r.take(n, "") }
        _ = try! r.varint("")
        for _ in 0..<(try! r.count("", max: 1 << 20)) { _ = try! r.varint(""); _ = try! r.varint(""); _ = try! r.varint("") }
        _ = try! r.varint(""); _ = try! r.u8(""); _ = try! r.varint(""); _ = try! r.u8(""); _ = try! r.u8("")
        return r.offset
    }
}

@Suite struct SnapshotJSONTests {
    /// The JSON parses (checked with Python's json module, a real parser) and
    /// carries the same numbers as the snapshot.
    @Test func jsonIsValidAndFaithful() throws {
        let s = SnapshotCodecTests.sample
        let line = s.jsonLine()
        #expect(!line.contains("\n"))
        let path = "/tmp/tally-snapshot-test-\(getpid()).json"
        let file = fopen(path, "w")!
        fputs(line, file)
        fclose(file)
        defer { unlink(path) }
        let check = """
        python3 -c "import json,sys; d=json.load(open('\(path)')); \
        assert d['format']==1 and d['collector']=='collector-a'; \
        assert sum(x['requests'] for x in d['series'])==\(s.requests); \
        assert d['counters']['frames.accepted']==\(s.counters["frames.accepted"]!); \
        assert all(x['latency_us']['count']==x['requests'] for x in d['series']); \
        assert all(x['latency_us']['min']<=x['latency_us']['p50']<=x['latency_us']['max'] for x in d['series']); \
        print('ok')"
        """
        let pipe = popen(check, "r")!
        var buffer = [CChar](repeating: 0, count: 64)
        let output = fgets(&buffer, 64, pipe).map { _ in String(cString: buffer) } ?? ""
        #expect(pclose(pipe) == 0)
        #expect(output.hasPrefix("ok"), "python json check: \(output)")
        #expect(JSONObject.quote("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
    }
}
