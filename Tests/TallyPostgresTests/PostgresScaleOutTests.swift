import Foundation
import Testing
import TallyPostgres
import TallySynthetic
import TallyWire

/// Three collectors fed disjoint parts of one fleet write into one database; the SQL
/// merge of their rows equals what one collector fed everything stored.
@Suite(.serialized, .timeLimit(.minutes(15)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresScaleOutTests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"

    @Test func threeCollectorsMergeInSQLToOneCollector() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let parts = try (0..<3).map {
            try CollectorRun(settings: cluster.tallySettings(schema: "fleet"),
                             collectorID: "rack-\($0)")
        }
        let single = try CollectorRun(settings: cluster.tallySettings(schema: "single"), collectorID: "everything")
        var rng = SplitMix64(seed: 77)
        // A few hundred label sets per window: each series merges many frames (and a
        // debug build's four sinks keep up on two cores).
        let fleet = SyntheticFleet.fewLabelSets(tenants: 30, users: 10_000, routes: ["chat", "code"])
        var frames = 0
        for _ in 0..<3 {
            var split: [[TraceFrame]] = [[], [], []]
            var all: [TraceFrame] = []
            for _ in 0..<6_000 {
                let frame = fleet.frame(eventTimeMicros: CollectorRun.nowMicros(), &rng)
                split[Int(rng.next() % 3)].append(frame)
                all.append(frame)
            }
            for (run, part) in zip(parts, split) { run.send(part) }
            single.send(all)
            frames += all.count
            Thread.sleep(forTimeInterval: 0.4)
        }
        for run in parts + [single] { run.finish() }
        // Per window and series label set: counters exact, HyperLogLogs register for register,
        // p99 latency within the digests' error.
        func merged(_ schema: String) throws -> [String] {
            try cluster.psql("""
                SELECT window_start || '|' || model || '|' || model_version || '|' || ring || '|' || tags::text || '|' ||
                       sum(requests) || '|' || sum(status_ok) || '|' || sum(refusals) || '|' || sum(output_tokens_sum) || '|' ||
                       sum(task_success) || '|' || hll_union_agg(users)::text || '|' ||
                       hll_union_agg(sessions)::text || '|' || round(sum(cost_usd)::numeric, 9) || '|' ||
                       coalesce(tdigest_percentile(total_latency_us, 0.99), 0)
                FROM \(schema).series WHERE model <> 'probe'
                GROUP BY window_start, model, model_version, prompt_version, route, ring, tags
                ORDER BY window_start, model, model_version, prompt_version, route, ring, tags::text
                """, database: "tally").split(separator: "\n").map(String.init)
        }
        let three = try merged("fleet"), one = try merged("single")
        #expect(three.count == one.count)
        #expect(!one.isEmpty)
        var worstGap = 0.0
        for (a, b) in zip(three, one) {
            let x = a.split(separator: "|", omittingEmptySubsequences: false), y = b.split(separator: "|", omittingEmptySubsequences: false)
            #expect(x.dropLast() == y.dropLast(), "exact columns of \(y.prefix(5).joined(separator: "|"))")
            let p = Double(x.last!)!, q = Double(y.last!)!
            if q > 0 { worstGap = max(worstGap, abs(p - q) / q) }
        }
        let requests = try cluster.psql("SELECT sum(requests) FROM fleet.series WHERE model <> 'probe'", database: "tally")
        #expect(requests == String(frames))
        print("scale-out: \(one.count) window × series rows; every counter and HyperLogLog equal; worst p99 gap per series \(worstGap)")
        // A single series (≤ a few hundred values) keeps them all as centroids: tiny gaps only.
        #expect(worstGap <= 0.05)
    }
}
