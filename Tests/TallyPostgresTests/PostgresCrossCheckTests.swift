import Foundation
import Testing
import TallyCore
import TallyDaemon
import TallyPostgres
import TallySketches
import TallySynthetic
import TallyWire

/// The same frames through tallyd into PostgreSQL: the database's answers against the
/// frames' truth and against Tally's own sketches (the data directory's snapshots).
@Suite(.serialized, .timeLimit(.minutes(15)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresCrossCheckTests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"

    @Test func databaseAnswersEqualTheFramesAndTallysSketches() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let run = try CollectorRun(settings: cluster.tallySettings())
        var rng = SplitMix64(seed: 21)
        // Every route, no region/language/tier tags: ~1,000 label sets per window rather than
        // nearly one per frame, so each series merges several frames (and a debug build's
        // sink stores the windows in seconds, not minutes).
        let fleet = SyntheticFleet.fewLabelSets(tenants: 20, users: 20_000,
                                                routes: ["chat", "summarize", "code", "extract", "agent"])
        var frames: [TraceFrame] = []
        for _ in 0..<4 {
            let batch = (0..<5_000).map { _ in fleet.frame(eventTimeMicros: CollectorRun.nowMicros(), &rng) }
            run.send(batch)
            frames += batch
            Thread.sleep(forTimeInterval: 0.5)
        }
        run.finish()
        let counters = run.collector.counters()
        let stored = try run.stored()
        let accepted = counters["frames.accepted", default: 0]
        #expect(accepted >= UInt64(frames.count), "every frame accepted")
        #expect(counters["sink.postgres.stored"] == UInt64(stored.count))
        #expect(counters["sink.postgres.dropped.failed"] == 0)

        // Windows: one row per snapshot, requests add up to every accepted frame.
        #expect(try cluster.psql("SELECT count(*) || ' ' || sum(requests) FROM tally.windows", database: "tally")
            == "\(stored.count) \(accepted)")

        // Counters per model equal the frames' truth (probes excluded).
        let models = Set(frames.map(\.model)).sorted()
        let rows = try cluster.psql("""
            SELECT model, sum(requests), sum(requests - status_ok), sum(refusals), sum(input_tokens_sum), sum(output_tokens_sum),
                   sum(task_success), sum(cached_input_tokens)
            FROM tally.series WHERE model <> 'probe' GROUP BY model ORDER BY model
            """, database: "tally").split(separator: "\n")
        #expect(rows.count == models.count)
        for (row, model) in zip(rows, models) {
            let mine = frames.filter { $0.model == model }
            let errors = mine.filter { $0.status != .ok }.count
            let refusals = mine.filter { $0.outcome.refusal }.count
            let inputTokens: Int = mine.reduce(0) { $0 + Int($1.inputTokens) }
            let outputTokens: Int = mine.reduce(0) { $0 + Int($1.outputTokens) }
            let successes = mine.filter { $0.outcome.task == .success }.count
            let cached: Int = mine.reduce(0) { $0 + Int($1.cachedInputTokens) }
            let truth: [String] = [model, String(mine.count), String(errors), String(refusals), String(inputTokens),
                                   String(outputTokens), String(successes), String(cached)]
            #expect(row.split(separator: "|").map(String.init) == truth, "model \(model)")
        }

        // Tally's own sketches over the same frames: every stored series but the probes, merged.
        let series = stored.flatMap(\.snapshot.series).filter { $0.labels.model != CollectorRun.probeModel }
        // (One union and one merge over all series: merging aggregates pairwise is quadratic in a debug build.)
        let users = try HyperLogLog.union(series.map(\.aggregate.users))
        let latency = try TDigest.merged(series.map(\.aggregate.totalLatency))

        // HyperLogLog: PostgreSQL's union equals Tally's register for register.
        let hll = try cluster.psql("""
            SELECT hll_union_agg(users)::text || ' ' || hll_cardinality(hll_union_agg(users))
            FROM tally.series WHERE model <> 'probe'
            """, database: "tally").split(separator: " ")
        #expect(PostgresHLLRegisters.decode(text: String(hll[0])) == PostgresHLLRegisters.decode(users.postgreSQLFull()),
                "hll_union_agg registers equal Tally's union")
        let pgUsers = Double(hll[1])!
        let trueUsers = Double(Set(frames.map(\.userHash).filter { $0 != 0 }).count)
        let estimatorGap = abs(pgUsers - users.estimate) / users.estimate
        print("cross-check users: truth \(Int(trueUsers)), Tally \(users.estimate), hll_cardinality \(pgUsers), gap \(estimatorGap)")
        // Same registers, two estimators (postgresql-hll: HLL with linear counting; Tally: Ertl 2017):
        // both within 3 standard errors (1.04/√4096 ≈ 1.6 %) of the truth.
        #expect(abs(pgUsers - trueUsers) / trueUsers <= 0.05)
        #expect(abs(users.estimate - trueUsers) / trueUsers <= 0.05)
        #expect(estimatorGap <= 0.05)

        // t-digest: PostgreSQL's percentiles over the merged digests against Tally's quantiles
        // and against the true ranks (δ = 100: rank error well under 1 %).
        let quantiles = [0.5, 0.9, 0.95, 0.99]
        let pg = try cluster.psql("""
            SELECT array_to_string(tdigest_percentile(total_latency_us, ARRAY[0.5, 0.9, 0.95, 0.99]), ' ')
            FROM tally.series WHERE model <> 'probe'
            """, database: "tally").split(separator: " ").map { Double($0)! }
        let sorted = frames.map { Double($0.totalLatencyMicros) }.sorted()
        for (q, value) in zip(quantiles, pg) {
            let tally = latency.quantile(q)
            let rank = Double(sorted.firstIndex { $0 >= value } ?? sorted.count) / Double(sorted.count)
            print("cross-check latency q\(q): tdigest_percentile \(value) µs, Tally \(tally) µs, relative gap \(abs(value - tally) / tally), true rank of PostgreSQL's value \(rank)")
            #expect(abs(rank - q) <= 0.01, "q \(q): rank \(rank)")
            #expect(abs(value - tally) / tally <= 0.02, "q \(q): PostgreSQL \(value), Tally \(tally)")
        }
        // Count, min and max are exact in both.
        #expect(try cluster.psql("SELECT tdigest_count(tdigest(total_latency_us))::bigint FROM tally.series WHERE model <> 'probe'",
                                 database: "tally") == String(frames.count))

        // Cost: the exact sums in the rows equal Tally's.
        let cost = Double(try cluster.psql("SELECT sum(cost_usd) FROM tally.series WHERE model <> 'probe'", database: "tally"))!
        let tallyCost = series.reduce(0.0) { $0 + $1.aggregate.cost.sum }
        #expect(abs(cost - tallyCost) <= 1e-9 * tallyCost)

        // The analyst's SQL (SCHEMA.md) on the same rows.
        let latencyView = try cluster.psql("""
            SELECT requests FROM tally.latency_last_hour WHERE model = '\(models[0])'
            """, database: "tally")
        #expect(latencyView == String(frames.filter { $0.model == models[0] }.count))
        let ring = try cluster.psql("""
            SELECT ring || ' ' || requests || ' ' || round(error_rate::numeric, 9) || ' ' || round(refusal_rate::numeric, 9)
            FROM tally.rates_by_ring(now() - interval '1 day', now() + interval '1 day') WHERE ring = 'canary'
            """, database: "tally")
        let canary = frames.filter { $0.ring == .canary }
        let canaryErrors = Double(canary.filter { $0.status != .ok }.count) / Double(canary.count)
        let canaryRefusals = Double(canary.filter { $0.outcome.refusal }.count) / Double(canary.count)
        #expect(ring == "canary \(canary.count) \(String(format: "%.9f", canaryErrors)) \(String(format: "%.9f", canaryRefusals))")
        let tenantCost = Double(try cluster.psql("""
            SELECT sum(cost_usd) FROM tally.cost_by_tenant(now() - interval '1 day', now() + interval '1 day') WHERE tenant <> ''
            """, database: "tally"))!
        let tenantTruth = series.filter { $0.labels.tags.contains { $0.key == "tenant" } }.reduce(0.0) { $0 + $1.aggregate.cost.sum }
        #expect(abs(tenantCost - tenantTruth) <= 1e-9 * tenantTruth)
        let perModel = try cluster.psql("""
            SELECT round((cost_usd / successful_tasks - cost_per_successful_task_usd)::numeric, 12) = 0
            FROM tally.cost_by_model(now() - interval '1 day', now() + interval '1 day') WHERE model = 'mistral-large'
            """, database: "tally")
        #expect(perModel == "t")
        let cohorts = try cluster.psql("""
            SELECT count(*) FROM tally.users_per_cohort_day WHERE tag = 'tenant' AND distinct_users > 0
            """, database: "tally")
        #expect(Int(cohorts)! == Set(frames.compactMap { $0.tags.first { $0.key == "tenant" }?.value }).count)

        // Write volume: bytes per stored series row (heap, TOAST and indexes of the partitions).
        try cluster.psql("VACUUM ANALYZE", database: "tally")
        let volume = try cluster.psql("""
            SELECT count(*) || ' ' || (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits
                                       WHERE inhparent = 'tally.series'::regclass)
            FROM tally.series
            """, database: "tally").split(separator: " ").map { Double($0)! }
        print("write volume: \(Int(volume[0])) series rows in \(stored.count) windows, \(Int(volume[1] / volume[0])) bytes per row on disk")
        #expect(volume[0] == Double(stored.reduce(0) { $0 + $1.snapshot.series.count }))
        // Series per window of the demo fleet (Tools/demo-fleet.toml: canary 10 %, four
        // languages; tallyd's demo has 5-second windows): distinct label sets among the frames
        // of one window at 2,000 frames/s (10,000 frames), and at 20,000 frames/s.
        var demo = SyntheticFleet()
        demo.canaryShare = 0.1
        demo.languages = ["en", "de", "fr", "es"]
        var labels = Set<String>()
        var demoRng = SplitMix64(seed: 1)
        for n in 1...100_000 {
            let f = demo.frame(eventTimeMicros: 0, &demoRng)
            labels.insert("\(f.model)|\(f.modelVersion ?? "")|\(f.promptVersion ?? "")|\(f.route ?? "")|\(f.ring)|\(f.tags.map { $0.key + "=" + $0.value })")
            if n == 10_000 || n == 100_000 { print("write volume: demo fleet, \(n) frames: \(labels.count) series") }
        }
        #expect(labels.count > 0)
    }
}
