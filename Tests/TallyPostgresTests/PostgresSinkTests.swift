import Foundation
import Logging
import Testing
import TallyCore
@testable import TallyDaemon
import TallyPostgres
import TallySketches
import TallySynthetic
import TallyTestSupport
import TallyWire

/// The sink against a real server: idempotency, the outage, bad input at start.
@Suite(.serialized, .timeLimit(.minutes(15)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresSinkTests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"
    static let logger: Logger = {
        var logger = Logger(label: "tally-pg-test")
        logger.logLevel = .critical
        return logger
    }()

    static func encoded(_ snapshot: Snapshot, sequence: UInt64) -> EncodedSnapshot {
        EncodedSnapshot(sequence: sequence, snapshot: snapshot, bytes: SnapshotCodec.encode(snapshot))
    }

    static func fixtures(_ count: Int, collector: String = "test") -> [Snapshot] {
        (0..<count).map { i in
            var s = snapshot(window: i * 900, [SeriesShape(model: "a", requests: 300), SeriesShape(model: "b", requests: 200),
                                               SeriesShape(model: "b", ring: .canary, tags: [CohortTag("tenant", "t1")], requests: 100)])
            s.collectorID = collector
            s.sequences = [Snapshot.SequenceRange(collectorID: collector, first: UInt64(i), last: UInt64(i))]
            return s
        }
    }

    @Test func theSameSnapshotsTwiceAreStoredOnce() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let settings = cluster.tallySettings()
        let snapshots = Self.fixtures(6)
        let sink = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                    logger: Self.logger, requireServer: true)
        for (i, s) in snapshots.enumerated() { try sink.deliver(Self.encoded(s, sequence: UInt64(i))) }
        // A retry after a timeout, and a restart that replays: the same snapshots again.
        for (i, s) in snapshots.enumerated() { try sink.deliver(Self.encoded(s, sequence: UInt64(i))) }
        sink.close()
        let again = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                     logger: Self.logger, requireServer: true)
        for (i, s) in snapshots.enumerated().reversed() { try again.deliver(Self.encoded(s, sequence: UInt64(i))) }
        again.close()
        #expect(sink.counters["stored"] == 6)
        #expect(sink.counters["duplicates"] == 6)
        #expect(again.counters["duplicates"] == 6)
        #expect(again.counters["stored", default: 0] == 0)
        #expect(try cluster.psql("SELECT count(*) || ' ' || count(DISTINCT sequence) FROM tally.windows", database: "tally") == "6 6")
        #expect(try cluster.psql("SELECT count(*) || ' ' || sum(requests) FROM tally.series", database: "tally") == "18 3600")
    }

    /// Snapshots with cohort aggregates (SNAPSHOT.md, "Cohort aggregates"): their cohorts go to
    /// `cohorts` in the same transaction, never into `series`; a version-1 schema holding
    /// series rows migrates to version 2; the reader gives the cohorts back.
    @Test func cohortAggregatesAreStoredApartAndReadBack() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let settings = cluster.tallySettings()
        // A schema as version 1 left it, with a window stored.
        let old = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                   logger: Self.logger, requireServer: true)
        try old.deliver(Self.encoded(Self.fixtures(1)[0], sequence: 0))
        old.close()
        // (CASCADE: version 2's users_per_cohort_day reads cohorts; migration 2 replaces it.
        // Version 3's column and view go too, so that migrations 2 and 3 both run again.)
        // Version 4's table goes too, so that migration 4 runs again, and version 5's column.)
        try cluster.psql("""
            DROP VIEW tally.heavy_hitter_entries; ALTER TABLE tally.windows DROP COLUMN heavy_hitters;
            DROP TABLE tally.cohorts_hourly; DROP TABLE tally.cohorts CASCADE; ALTER TABLE tally.windows DROP COLUMN cohort_summaries;
            DELETE FROM tally.schema_version WHERE version >= 2
            """, database: "tally")
        #expect(try PostgresSink.migrate(settings: settings, sketches: SketchParameters(), logger: Self.logger) == 5)
        // Snapshots 1 and 2: each series also as a cohort aggregate of lang (one value per series);
        // snapshot 2's cohorts keep queue time and the token counts as summaries (tallyd's default).
        let snapshots = Self.fixtures(3).dropFirst().enumerated().map { n, fixture -> Snapshot in
            var s = fixture
            s.cohorts = s.series.enumerated().map { i, series in
                var cohort = series
                cohort.labels.tags = [CohortTag("lang", ["en", "de", "fr"][i % 3])]
                return cohort
            }
            if n == 1 {
                s.cohortSummaries = [.queueTime, .inputTokens, .outputTokens]
                for i in s.cohorts.indices { s.cohortSummaries.apply(to: &s.cohorts[i].aggregate) }
            }
            return s
        }
        let sink = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                    logger: Self.logger, requireServer: true)
        for (i, s) in snapshots.enumerated() { try sink.deliver(Self.encoded(s, sequence: UInt64(i + 1))) }
        sink.close()
        #expect(try cluster.psql("SELECT count(*) || ' ' || sum(requests) FROM tally.series", database: "tally") == "9 1800")
        #expect(try cluster.psql("SELECT count(*) || ' ' || sum(requests) FROM tally.cohorts", database: "tally") == "6 1200")
        #expect(try cluster.psql("SELECT string_agg(DISTINCT tags::text, ' ') FROM tally.cohorts", database: "tally")
                == #"{"lang": "de"} {"lang": "en"} {"lang": "fr"}"#)
        #expect(try cluster.psql("SELECT sum(requests) FROM tally.users_per_cohort_day WHERE tag = 'lang'", database: "tally") == "1200")
        // A summary has no quantiles: its digest column is NULL, its sum in the _sum column.
        #expect(try cluster.psql("""
            SELECT count(*) FILTER (WHERE queue_time_us IS NULL AND input_tokens IS NULL AND output_tokens IS NULL)
                   || ' ' || count(*) FILTER (WHERE total_latency_us IS NOT NULL AND cost_usd_digest IS NOT NULL)
            FROM tally.cohorts WHERE sequence = 2
            """, database: "tally") == "3 3")
        #expect(try cluster.psql("SELECT count(*) FROM tally.cohorts WHERE sequence = 1 AND queue_time_us IS NULL", database: "tally") == "0")
        let tokens = snapshots[1].cohorts.reduce(0) { $0 + UInt64($1.aggregate.inputTokens.sum) }
        #expect(tokens > 0)
        #expect(try cluster.psql("SELECT sum(input_tokens_sum) FROM tally.cohorts WHERE sequence = 2", database: "tally") == String(tokens))
        let read = try PostgresSnapshotReader.read(settings: settings, from: 0, to: .max, logger: Self.logger)
        #expect(read.problems.isEmpty, "\(read.problems)")
        #expect(read.snapshots.count == 3)
        #expect(read.snapshots.map(\.cohorts.count) == [0, 3, 3])
        // Version 5: the window row says which cohort distributions are summaries; the reader gives it back.
        #expect(try cluster.psql("SELECT string_agg(cohort_summaries::text, ' ' ORDER BY sequence) FROM tally.windows",
                                 database: "tally") == "0 0 49")
        #expect(read.snapshots.map(\.cohortSummaries) == [[], [], [.queueTime, .inputTokens, .outputTokens]])
        #expect(read.snapshots[2].cohorts.allSatisfy { $0.aggregate.queueTime.isEmpty && !$0.aggregate.totalLatency.isEmpty })
        for (got, sent) in zip(read.snapshots.dropFirst(), snapshots) {
            #expect(got.cohorts.map(\.labels) == sent.cohorts.map(\.labels))
            #expect(got.cohorts.map(\.aggregate.requests) == sent.cohorts.map(\.aggregate.requests))
        }
        // Schema version 4: the hour's cohorts roll up into cohorts_hourly as Tally merges them,
        // beside the series in series_hourly (the three windows share an hour).
        let hourStart = snapshots[0].windowStartMicros / 3_600_000_000 * 3_600_000_000
        let merged = try Snapshot.merged(snapshots, collectorID: "test")
        let seriesRows = try Snapshot.merged(Self.fixtures(3), collectorID: "test").series.count
        #expect(try cluster.psql("SELECT tally.roll_up_hour(to_timestamp(\(hourStart / 1_000_000)))", database: "tally")
                == String(seriesRows + merged.cohorts.count))
        #expect(try cluster.psql("SELECT count(*) || ' ' || sum(requests) || ' ' || sum(windows) FROM tally.cohorts_hourly", database: "tally")
                == "\(merged.cohorts.count) 1200 6")
        for cohort in merged.cohorts {
            let tag = cohort.labels.tags[0]
            let row = try cluster.psql("""
                SELECT requests || '|' || status_ok || '|' || tdigest_count(total_latency_us)::bigint || '|' || users::text || '|' || cost_usd
                FROM tally.cohorts_hourly WHERE model = '\(cohort.labels.model)' AND ring = '\(cohort.labels.ring.name)'
                  AND tags = '{"\(tag.key)": "\(tag.value)"}'::jsonb
                """, database: "tally").split(separator: "|").map(String.init)
            #expect(row.count == 5)
            guard row.count == 5 else { continue }
            #expect(row[0] == String(cohort.aggregate.requests))
            #expect(row[1] == String(cohort.aggregate.statusCount(0)))
            #expect(row[2] == String(cohort.aggregate.totalLatency.count))
            #expect(PostgresHLLRegisters.decode(text: row[3]) == PostgresHLLRegisters.decode(cohort.aggregate.users.postgreSQLFull()),
                    "HyperLogLog union register for register")
            #expect(Double(row[4]) == cohort.aggregate.cost.sum, "two windows' costs add exactly")
        }
        // The series' roll-up is not changed by the cohorts: the frames are counted once there.
        #expect(try cluster.psql("SELECT sum(requests) FROM tally.series_hourly", database: "tally") == "1800")
        // A database migrated to version 4 with cohorts already stored: the migration leaves
        // the stored hours alone (it must stay quick), and SCHEMA.md's statement rolls them up.
        try cluster.psql("""
            DROP TABLE tally.cohorts_hourly; ALTER TABLE tally.windows DROP COLUMN cohort_summaries;
            DELETE FROM tally.schema_version WHERE version >= 4
            """, database: "tally")
        #expect(try PostgresSink.migrate(settings: settings, sketches: SketchParameters(), logger: Self.logger) == 5)
        #expect(try cluster.psql("SELECT count(*) FROM tally.cohorts_hourly", database: "tally") == "0")
        let schemaText = try String(contentsOfFile: PostgresTestCluster.repository + "/Sources/TallyPostgres/SCHEMA.md", encoding: .utf8)
        let backfill = try #require(schemaText.components(separatedBy: "```sql\nSELECT tally.roll_up_hour(h)\n").dropFirst().first?
            .components(separatedBy: "```").first, "SCHEMA.md's backfill statement")
        try cluster.psql("SELECT tally.roll_up_hour(h)\n" + backfill, database: "tally")
        #expect(try cluster.psql("SELECT count(*) || ' ' || sum(requests) FROM tally.cohorts_hourly", database: "tally")
                == "\(merged.cohorts.count) 1200")
    }

    /// Heavy hitters (schema version 3) go into their window's row as the JSON line's array and
    /// come back whole; `heavy_hitter_entries` has one row per held entry.
    @Test func heavyHittersAreStoredWithTheirWindowAndReadBack() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let settings = cluster.tallySettings()
        var rng = SplitMix64(seed: 5)
        func slice(_ model: String) throws -> SliceHeavyHitters {
            // k = 4 over 30 users and 12 tenants: full summaries, non-zero errors, fractional costs.
            var users = HeavyHitters(capacity: 4), usersCost = HeavyHitters(capacity: 4)
            var tenants = HeavyHitters(capacity: 4), tenantsCost = HeavyHitters(capacity: 4)
            var names: [UInt64: String] = [:]
            for _ in 0..<500 {
                let user = rng.next() % 30 &* 0x9E37_79B9_7F4A_7C15 | 1, tenant = "tenant-\(rng.next() % 12)-ü"
                let cost = Double(rng.next() % 1_000_000) / 3e6
                names[IdentifierHash.hash(tenant)] = tenant
                users.insert(user)
                usersCost.insert(user, weight: cost)
                tenants.insert(IdentifierHash.hash(tenant))
                tenantsCost.insert(IdentifierHash.hash(tenant), weight: cost)
            }
            return SliceHeavyHitters(labels: SeriesLabels(model: model, ring: .canary), usersByRequests: users, usersByCost: usersCost,
                                     tenants: try TenantHeavyHitters(tagKey: "tenant", byRequests: tenants, byCost: tenantsCost,
                                                                     names: names))
        }
        var snapshots = Self.fixtures(2)
        snapshots[1].heavyHitters = [try slice("a"), try slice("b")]
        let sink = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                    logger: Self.logger, requireServer: true)
        for (i, s) in snapshots.enumerated() { try sink.deliver(Self.encoded(s, sequence: UInt64(i))) }
        sink.close()
        #expect(try cluster.psql("SELECT count(*) FROM tally.windows WHERE heavy_hitters IS NULL", database: "tally") == "1")
        let read = try PostgresSnapshotReader.read(settings: settings, from: 0, to: .max, logger: Self.logger)
        #expect(read.problems.isEmpty, "\(read.problems)")
        #expect(read.snapshots.map(\.heavyHitters.count) == [0, 2])
        let sent = snapshots[1].heavyHitters
        for (got, want) in zip(try #require(read.snapshots.last).heavyHitters, sent) {
            #expect(got.labels == want.labels && got.capacity == want.capacity)
            #expect(got.usersByRequests.entries == want.usersByRequests.entries && got.usersByCost.entries == want.usersByCost.entries)
            #expect(got.usersByCost.totalWeight == want.usersByCost.totalWeight, "W to the last bit")
            let (t, u) = (try #require(got.tenants), try #require(want.tenants))
            #expect(t.tagKey == u.tagKey && t.names == u.names)
            #expect(t.byRequests.entries == u.byRequests.entries && t.byCost.entries == u.byCost.entries)
            #expect(t.byCost.totalWeight == u.byCost.totalWeight)
        }
        // The view: one row per held entry; rank 1 is the heaviest.
        let entries = sent.reduce(0) { $0 + $1.usersByRequests.count + $1.usersByCost.count
            + ($1.tenants.map { $0.byRequests.count + $0.byCost.count } ?? 0) }
        #expect(try cluster.psql("SELECT count(*) FROM tally.heavy_hitter_entries", database: "tally") == "\(entries)")
        let top = try #require(sent[0].tenants?.topByRequests.first)
        #expect(try cluster.psql("""
            SELECT key || ' ' || estimate || ' ' || tag || ' ' || ring FROM tally.heavy_hitter_entries
            WHERE summary = 'tenants_by_requests' AND model = 'a' AND rank = 1
            """, database: "tally") == "\(top.name) \(Int(top.entry.estimate)) tenant canary")
        let user = try #require(sent[1].usersByRequests.entries.first)
        #expect(try cluster.psql("""
            SELECT key || ' ' || estimate || ' ' || error FROM tally.heavy_hitter_entries
            WHERE summary = 'users_by_requests' AND model = 'b' AND rank = 1
            """, database: "tally") == "\(SliceHeavyHitters.userText(user.key)) \(Int(user.estimate)) \(Int(user.error))")
        let costs = try cluster.psql("""
            SELECT string_agg(estimate::text, ' ' ORDER BY rank) FROM tally.heavy_hitter_entries
            WHERE summary = 'users_by_cost' AND model = 'a'
            """, database: "tally")
        #expect(costs.split(separator: " ").compactMap { Double($0) } == sent[0].usersByCost.entries.map(\.estimate),
                "costs to the last bit through jsonb and float8")
    }

    /// PostgreSQL stopped for ~20 s while the collector writes 1-second windows, then
    /// started again: afterwards every snapshot of the data directory is in the
    /// database, stored in sequence order, none twice.
    @Test func nothingIsLostAcrossAnOutage() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let run = try CollectorRun(settings: cluster.tallySettings(), allowedLatenessSeconds: 1)
        var rng = SplitMix64(seed: 3)
        // About a hundred label sets per window (the outage is the subject here, not the
        // cardinality): a debug build's sink stores them well within each 1-second window.
        let fleet = SyntheticFleet.fewLabelSets(tenants: 10, users: 2_000)
        var sent = 0
        let start = Date()
        var stoppedAt: Double?, restartedAt: Double?
        while Date().timeIntervalSince(start) < 48 {
            let t = Date().timeIntervalSince(start)
            if t >= 8 && stoppedAt == nil { try cluster.stop(); stoppedAt = t }
            if t >= 28 && restartedAt == nil { try cluster.restart(); restartedAt = t }
            run.send((0..<100).map { _ in fleet.frame(eventTimeMicros: CollectorRun.nowMicros(), &rng) })
            sent += 100
            Thread.sleep(forTimeInterval: 0.1)
        }
        run.finish()
        let stored = try run.stored()
        let counters = run.collector.counters()
        let rows = try cluster.psql("SELECT sequence FROM tally.windows WHERE collector_id = 'collector-a' ORDER BY stored_order",
                                    database: "tally").split(separator: "\n").map { UInt64($0)! }
        let outageFailures = counters["sink.postgres.failures", default: 0]
        print("outage: down \(String(format: "%.1f", restartedAt! - stoppedAt!)) s; \(stored.count) snapshots in the data directory, \(rows.count) in PostgreSQL; failed deliveries \(outageFailures) (retries \(counters["sink.postgres.retries", default: 0]), connects \(counters["sink.postgres.connects", default: 0])), dropped by the worker \(counters["sink.postgres.dropped.failed", default: 0]) failed + \(counters["sink.postgres.dropped.circuit_open", default: 0]) circuit open, caught up from the data directory \(counters["sink.postgres.caught_up", default: 0]), lost \(counters["sink.postgres.lost", default: 0])")
        #expect(outageFailures > 0, "the outage was felt")
        // What the worker gave up on comes from the data directory, once. How much that is
        // depends on the timing: a worker that spent the outage in one slow attempt gives up
        // on nothing and delivers its queue afterwards (`missedSnapshotsComeFromTheDataDirectory`
        // holds the catch-up itself to exact counts).
        let givenUp = SinkDropReason.allCases.reduce(UInt64(0)) { $0 + counters["sink.postgres.dropped.\($1.rawValue)", default: 0] }
        #expect(counters["sink.postgres.caught_up", default: 0] == givenUp, "every snapshot the worker gave up on was caught up")
        if outageFailures < 3 { print("outage: the sink failed only \(outageFailures) time(s); the server's log:\n\(cluster.serverLogTail(lines: 30))") }
        #expect(rows == stored.map(\.sequence), "every snapshot, in order, once")
        #expect(counters["sink.postgres.lost", default: 0] == 0)
        // The database holds what the data directory holds (frames a loaded machine's ingest
        // took past the 1-second lateness are the collector's `dropped.late`, in neither).
        let requests = stored.reduce(UInt64(0)) { $0 + $1.snapshot.requests }
        let drops = counters.filter { $0.key.hasPrefix("engine.dropped") || $0.key.hasPrefix("dropped") }.filter { $0.value > 0 }
        print("outage: \(sent) frames sent, \(counters["frames.accepted", default: 0]) accepted, \(requests) in the data directory's windows; engine drops \(drops)")
        #expect(try cluster.psql("SELECT sum(requests) FROM tally.windows", database: "tally") == String(requests))
        #expect(counters["frames.accepted", default: 0] >= UInt64(sent))
    }

    /// The sink handed 0, 1, then 5 and 6 stores 2…4 from the data directory first, in
    /// order; a snapshot the data directory no longer holds is counted as lost, not waited for.
    @Test func missedSnapshotsComeFromTheDataDirectory() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-catchup-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let snapshots = Self.fixtures(10)
        let files = try FileSink(directory: directory, maxBytes: 1 << 20, retention: 100, fsyncEachRecord: false)
        for (i, s) in snapshots.enumerated() where i != 8 { try files.deliver(Self.encoded(s, sequence: UInt64(i))) }
        files.close()
        let sink = try PostgresSink(settings: cluster.tallySettings(), collectorID: "test", sketches: SketchParameters(),
                                    dataDirectory: directory, logger: Self.logger, requireServer: true)
        for i in [0, 1, 5, 6, 9] { try sink.deliver(Self.encoded(snapshots[i], sequence: UInt64(i))) }
        sink.close()
        #expect(sink.counters["stored"] == 9)
        #expect(sink.counters["caught_up"] == 4, "2, 3, 4 before 5; 7 before 9")
        #expect(sink.counters["lost"] == 1, "8 is not in the data directory")
        #expect(try cluster.psql("SELECT string_agg(sequence::text, ',' ORDER BY stored_order) FROM tally.windows", database: "tally")
                == "0,1,2,3,4,5,6,7,9")
    }

    @Test func aWrongPasswordIsAClearErrorThatNamesNoPassword() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let wrong = "not-\(Self.password)"
        let error = #expect(throws: PostgresSinkError.self) {
            _ = try PostgresSink(settings: cluster.settings(user: "tally", password: wrong, database: "tally"), collectorID: "c",
                                 sketches: SketchParameters(), dataDirectory: "/nonexistent", logger: Self.logger)
        }
        guard case .authentication(let message) = error else { Issue.record("not an authentication error: \(String(describing: error))"); return }
        #expect(message.contains("password authentication failed"))
        #expect(!"\(error!)".contains(wrong) && !"\(error!)".contains(Self.password))
    }

    @Test func aMissingExtensionIsAClearError() throws {
        let cluster = try PostgresTestCluster()
        defer { cluster.destroy() }
        // A database without the extensions, owned by a role that may not create them.
        try cluster.makeDatabase("bare", owner: "tally", password: Self.password, extensions: ["tdigest"])
        let error = #expect(throws: PostgresSinkError.self) {
            _ = try PostgresSink(settings: cluster.settings(user: "tally", password: Self.password, database: "bare"), collectorID: "c",
                                 sketches: SketchParameters(), dataDirectory: "/nonexistent", logger: Self.logger)
        }
        guard case .missingExtension(let message) = error else { Issue.record("not a missing extension: \(String(describing: error))"); return }
        #expect(message.hasPrefix("hll is not installed in database bare"))
        #expect(message.contains("postgresql-15-hll"))
        #expect(try cluster.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'tally'", database: "bare") == "0",
                "nothing half-created")
    }

    @Test func aSchemaFromANewerTallyIsRefused() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let settings = cluster.tallySettings()
        #expect(try PostgresSink.migrate(settings: settings, sketches: SketchParameters(), logger: Self.logger) == 5)
        // Migrating again changes nothing.
        #expect(try PostgresSink.migrate(settings: settings, sketches: SketchParameters(), logger: Self.logger) == 5)
        #expect(try cluster.psql("SELECT count(*) FROM tally.schema_version", database: "tally") == "5")
        try cluster.psql("INSERT INTO tally.schema_version (version, note) VALUES (7, 'a newer tally')", database: "tally")
        #expect(throws: PostgresSinkError.newerSchema(found: 7, known: 5)) {
            _ = try PostgresSink(settings: settings, collectorID: "c", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                 logger: Self.logger)
        }
    }

    @Test func otherSketchParametersAreRefusedAtStartAndPerSnapshot() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let settings = cluster.tallySettings()
        let sink = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                    logger: Self.logger, requireServer: true)
        var other = SketchParameters()
        other.hllPrecision = 12
        let error = #expect(throws: PostgresSinkError.self) {
            _ = try PostgresSink(settings: settings, collectorID: "c2", sketches: other, dataDirectory: "/nonexistent", logger: Self.logger)
        }
        #expect("\(error!)".contains("HyperLogLog precision 14; this collector uses compression 100, scale"))
        var snapshot = Self.fixtures(1)[0]
        snapshot.sketches.compression = 200
        #expect(throws: SinkError.self) { try sink.deliver(Self.encoded(snapshot, sequence: 0)) }
        #expect(sink.counters["refused.parameters"] == 1)
        #expect(try cluster.psql("SELECT count(*) FROM tally.windows", database: "tally") == "0")
        // The server's type modifier holds too: registers of another precision do not go into the column.
        #expect(throws: PostgresTestCluster.ClusterError.self) {
            try cluster.psql("SELECT hll_empty(12, 6, -1, 1)::hll(14, 6, -1, 1)", database: "tally")
        }
    }
}
