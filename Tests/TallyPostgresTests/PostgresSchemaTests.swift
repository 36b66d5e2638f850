import Foundation
import Logging
import Testing
import TallyCore
@testable import TallyDaemon
import TallyPostgres
import TallySketches
import TallyTestSupport
import TallyWire

/// The schema against its spec (SCHEMA.md), the roll-up's merge semantics, retention.
@Suite(.serialized, .timeLimit(.minutes(15)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresSchemaTests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"

    /// The `| column | type |` rows of SCHEMA.md's section `## <table>`, in order.
    static func specifiedColumns(_ table: String) throws -> [String] {
        let text = try String(contentsOfFile: PostgresTestCluster.repository + "/Sources/TallyPostgres/SCHEMA.md", encoding: .utf8)
        guard let section = text.components(separatedBy: "\n## `\(table)`").dropFirst().first else { return [] }
        let body = section.components(separatedBy: "\n## ").first ?? ""
        return body.split(separator: "\n").compactMap { line -> String? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("| `"), cells.count >= 2 else { return nil }
            return cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")) + " " + cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
    }

    @Test func tablesAndColumnsAreTheSpecs() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        _ = try PostgresSink.migrate(settings: cluster.tallySettings(),
                                     sketches: SketchParameters(), logger: Logger(label: "test"))
        for table in ["schema_version", "sketch_parameters", "windows", "series", "series_hourly"] {
            let actual = try cluster.psql("""
                SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = 'tally.\(table)'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """, database: "tally").split(separator: "\n").map(String.init)
            #expect(try Self.specifiedColumns(table) == actual, "SCHEMA.md's \(table) is the table")
        }
        // SCHEMA.md: `cohorts` has exactly the columns of `series`, and both are partitioned per day.
        func columns(_ table: String) throws -> String {
            try cluster.psql("""
                SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a
                WHERE a.attrelid = 'tally.\(table)'::regclass AND a.attnum > 0 AND NOT a.attisdropped
                """, database: "tally")
        }
        #expect(try columns("cohorts") == columns("series") && !(try columns("series")).isEmpty)
        // Version 4: `cohorts_hourly` has exactly the columns of `series_hourly`, and its primary key.
        #expect(try columns("cohorts_hourly") == columns("series_hourly") && !(try columns("series_hourly")).isEmpty)
        #expect(try cluster.psql("""
            SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'tally.cohorts_hourly'::regclass AND contype = 'p'
            """, database: "tally") == "PRIMARY KEY (hour, model, model_version, prompt_version, route, ring, tags)")
        _ = try cluster.psql("SELECT tally.ensure_partition('2026-12-03')", database: "tally")
        #expect(try cluster.psql("SELECT count(*) FROM pg_class WHERE relname IN ('series_20261203', 'cohorts_20261203')",
                                 database: "tally") == "2")
        #expect(try cluster.psql("SELECT max(version) FROM tally.schema_version", database: "tally") == "5")
    }

    @Test func hourlyRollUpMergesLikeTallyAndRetentionDropsOldDays() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let settings = cluster.tallySettings()
        let sink = try PostgresSink(settings: settings, collectorID: "test", sketches: SketchParameters(), dataDirectory: "/nonexistent",
                                    logger: Logger(label: "test"), requireServer: true)
        // Windows 0, 900, … 3600 s after the fixture's epoch: the first four share an hour.
        let snapshots = PostgresSinkTests.fixtures(6)
        for (i, s) in snapshots.enumerated() { try sink.deliver(PostgresSinkTests.encoded(s, sequence: UInt64(i))) }
        sink.close()
        let hourStart = snapshots[0].windowStartMicros / 3_600_000_000 * 3_600_000_000
        let inHour = snapshots.filter { $0.windowStartMicros / 3_600_000_000 * 3_600_000_000 == hourStart }
        let written = try cluster.psql("SELECT tally.roll_up_hour(to_timestamp(\(hourStart / 1_000_000)))", database: "tally")
        let merged = try Snapshot.merged(inHour, collectorID: "test")
        #expect(Int(written) == merged.series.count)
        // Again: the same rows, not twice as many.
        #expect(try cluster.psql("SELECT tally.roll_up_hour(to_timestamp(\(hourStart / 1_000_000)))", database: "tally") == written)
        for series in merged.series {
            let where_ = "model = '\(series.labels.model)' AND ring = '\(series.labels.ring.name)'"
            let row = try cluster.psql("""
                SELECT windows || '|' || requests || '|' || status_ok || '|' || refusals || '|' || task_success || '|' ||
                       users::text || '|' || tdigest_count(total_latency_us)::bigint || '|' || categories::text
                FROM tally.series_hourly WHERE \(where_)
                """, database: "tally").split(separator: "|").map(String.init)
            let a = series.aggregate
            #expect(row[0] == String(inHour.count))
            #expect(row[1] == String(a.requests))
            #expect(row[2] == String(a.statusCount(0)))
            #expect(row[3] == String(a.refusals))
            #expect(row[4] == String(a.taskOutcomeCount(1)))
            #expect(PostgresHLLRegisters.decode(text: row[5]) == PostgresHLLRegisters.decode(a.users.postgreSQLFull()),
                    "HyperLogLog union register for register")
            #expect(row[6] == String(a.totalLatency.count))
            var categories = 0
            a.forEachCategory { _, n in categories += Int(n) }
            let sqlCategories = try cluster.psql("""
                SELECT sum(value::bigint) FROM tally.series_hourly, jsonb_each_text(categories) WHERE \(where_)
                """, database: "tally")
            #expect(sqlCategories == String(categories))
            let q99 = Double(try cluster.psql("SELECT tdigest_percentile(total_latency_us, 0.99) FROM tally.series_hourly WHERE \(where_)",
                                              database: "tally"))!
            // The stated error (SCHEMA.md, Values): within 0.01 in rank of Tally's merged digest.
            // (In value the two differ by the data's local spacing: a few hundred requests have
            // neighbours several per cent apart at p99.)
            let rank = a.totalLatency.cdf(q99)
            print("roll-up: \(series.labels.model) \(series.labels.ring.name): \(a.totalLatency.count) values, p99 tdigest_percentile \(q99), Tally \(a.totalLatency.quantile(0.99)), rank of PostgreSQL's in Tally's digest \(rank)")
            #expect(abs(rank - 0.99) <= 0.01, "p99: PostgreSQL \(q99) at rank \(rank) of Tally's digest")
        }
        // Retention: windows lie in one day; keeping from the next day drops that day's partition and its rows.
        let day = try cluster.psql("SELECT (to_timestamp(\(hourStart / 1_000_000)) AT TIME ZONE 'UTC')::date", database: "tally")
        #expect(try cluster.psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'tally.series'::regclass", database: "tally") == "1")
        #expect(try cluster.psql("SELECT tally.drop_partitions_before('\(day)'::date)", database: "tally") == "0")
        // That day's two partitions: series_YYYYMMDD and cohorts_YYYYMMDD (schema version 2).
        #expect(try cluster.psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'tally.cohorts'::regclass", database: "tally") == "1")
        #expect(try cluster.psql("SELECT tally.drop_partitions_before('\(day)'::date + 1)", database: "tally") == "2")
        #expect(try cluster.psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'tally.cohorts'::regclass", database: "tally") == "0")
        #expect(try cluster.psql("SELECT (SELECT count(*) FROM tally.series) + (SELECT count(*) FROM tally.windows) + (SELECT count(*) FROM tally.series_hourly) + (SELECT count(*) FROM tally.cohorts_hourly)",
                                 database: "tally") == "0")
    }
}
