#if canImport(Glibc)
import Glibc
#endif
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
            #expect(x.aggregate.totalLatency.quantile(0.9) == (try TDigest(serialized: y.aggregate.totalLatency.serialized())).quantile(0.9))
            #expect(x.aggregate.users.estimate == y.aggregate.users.estimate)
            #expect(x.aggregate.categories == y.aggregate.categories)
        }
        // A decoded snapshot merges like the original.
        let merged = try Snapshot.merged([back, try snapshot(of: fleet(500, seed: 12), collector: "b", sequence: 1)],
                                         collectorID: "r")
        #expect(merged.requests == 2_500)
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
        bad = bytes; bad[4] = 2; #expect(rejects(bad))
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
