import Foundation
import Logging
import PostgresNIO
import Synchronization
import TallyCore
import TallyDaemon

/// The PostgreSQL sink: each snapshot in one transaction (its window row, then its
/// series rows), idempotent on (collector id, sequence). SCHEMA.md specifies the tables.
///
/// Nothing is lost across an outage: the data directory (the file sink) is the source
/// of truth. The sink remembers the next sequence the database needs from this
/// collector; when it is handed a later one — after failed deliveries, snapshots the
/// worker's circuit breaker dropped, or a restart — it first stores the missing ones
/// from the data directory, in sequence order. A sequence the data directory no longer
/// has (retention, a torn record) is counted as `lost` and logged.
///
/// Runs on its ``SinkWorker``'s thread only (the worker retries with backoff).
public final class PostgresSink: SnapshotSink, @unchecked Sendable {
    public let name = "postgres"
    public let settings: PostgresSettings
    public let collectorID: String
    public let sketches: SketchParameters
    public let dataDirectory: String
    private let logger: Logger
    private var session: PostgresSession?
    /// One past the highest sequence of this collector in the database; nil when it has none.
    private var nextNeeded: UInt64?
    /// The first sequence handed to this sink in this process: the catch-up floor
    /// when the database has nothing of this collector yet.
    private var firstHanded: UInt64?
    private var lastRetentionDay: Int64 = -1
    private var lastRollUpHour: Int64 = -1
    private let stats = Mutex<[String: UInt64]>([:])

    /// Connects, creates or migrates the schema and checks it.
    /// - Parameter requireServer: when false, an unreachable server is not an error: the
    ///   sink starts unconnected and connects (and migrates) at its first delivery.
    /// - Throws: ``PostgresSinkError`` for a wrong password, a missing extension, a
    ///   schema from a newer Tally or other sketch parameters (and, with
    ///   `requireServer`, an unreachable server).
    public init(settings: PostgresSettings, collectorID: String, sketches: SketchParameters, dataDirectory: String,
                logger: Logger, requireServer: Bool = false) throws(PostgresSinkError) {
        self.settings = settings
        self.collectorID = collectorID
        self.sketches = sketches
        self.dataDirectory = dataDirectory
        self.logger = logger
        do {
            _ = try connected()
            logger.info("postgres sink: \(settings), schema version \(SchemaMigrations.latest)")
        } catch where error.isTransient && !requireServer {
            logger.warning("postgres sink: \(error); snapshots wait in \(dataDirectory) and are stored once it answers")
        }
    }

    /// Applies the migrations and checks the schema without starting a sink (`tallyd --postgres-migrate`).
    /// - Returns: the schema version.
    public static func migrate(settings: PostgresSettings, sketches: SketchParameters, logger: Logger) throws(PostgresSinkError) -> Int {
        let session = try PostgresSession.open(settings, logger: logger)
        defer { session.close() }
        return try SchemaMigrator.migrate(session, settings: settings, sketches: sketches)
    }

    /// What the sink did, by name: `stored`, `duplicates` (already in the database),
    /// `caught_up` (stored from the data directory), `lost` (gone from the data
    /// directory before they were stored), `refused.parameters`, `connects`.
    public var counters: [String: UInt64] { stats.withLock { $0 } }

    private func count(_ name: String, _ n: UInt64 = 1) { stats.withLock { $0[name, default: 0] += n } }

    public func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
        if firstHanded == nil { firstHanded = snapshot.sequence }
        do {
            try deliverInOrder(snapshot.snapshot, sequence: snapshot.sequence)
        } catch {
            if case .parameterMismatch = error {} else { drop() }
            throw SinkError(error.description)
        }
    }

    public func close() { drop() }

    private func drop() {
        session?.close()
        session = nil
    }

    /// The open session, or a new one (connected, migrated, checked, with ``nextNeeded`` read).
    private func connected() throws(PostgresSinkError) -> PostgresSession {
        if let session, !session.isClosed { return session }
        drop()
        let new = try PostgresSession.open(settings, logger: logger)
        do {
            try SchemaMigrator.migrate(new, settings: settings, sketches: sketches)
            var binds = PostgresBindings()
            binds.append(collectorID)
            let rows = try new.query("SELECT max(sequence) FROM \(settings.schema).windows WHERE collector_id = $1", binds)
            if let row = rows.first, let highest = try? row.decode(Int64?.self) { nextNeeded = UInt64(highest) + 1 }
        } catch {
            new.close()
            throw error
        }
        count("connects")
        session = new
        return new
    }

    /// Stores what the database is missing before `sequence` (from the data directory), then the snapshot.
    private func deliverInOrder(_ snapshot: Snapshot, sequence: UInt64) throws(PostgresSinkError) {
        try check(snapshot, sequence: sequence)
        let session = try connected()
        let from = nextNeeded ?? firstHanded ?? sequence
        if from < sequence { try catchUp(from..<sequence, before: sequence, session: session) }
        try store(snapshot, sequence: sequence, session: session)
        nextNeeded = max(nextNeeded ?? 0, sequence + 1)
        try maintain(snapshot, session: session)
    }

    /// Refuses a snapshot made with other sketch parameters than the schema's.
    private func check(_ snapshot: Snapshot, sequence: UInt64) throws(PostgresSinkError) {
        guard snapshot.sketches.compression == sketches.compression, snapshot.sketches.hllPrecision == sketches.hllPrecision,
              snapshot.sketches.scale.mergesWith(sketches.scale) else {
            count("refused.parameters")
            throw .parameterMismatch(
                "snapshot \(sequence) has t-digest compression \(snapshot.sketches.compression), HyperLogLog precision \(snapshot.sketches.hllPrecision); the schema holds \(sketches.compression) and \(sketches.hllPrecision); not stored")
        }
    }

    private func catchUp(_ missing: Range<UInt64>, before sequence: UInt64, session: PostgresSession) throws(PostgresSinkError) {
        let found = SnapshotLog.read(directory: dataDirectory, sequences: missing.lowerBound...sequence).records
        var bySequence: [UInt64: SnapshotLog.Record] = [:]
        for record in found { bySequence[record.sequence] = record }
        let fileSinkHasCurrent = bySequence[sequence] != nil
        var stored: UInt64 = 0
        for needed in missing {
            guard let record = bySequence[needed] else {
                // The file sink writes in sequence order: once it has written `sequence`,
                // an earlier one it lacks is gone for good; before that it may still come.
                if fileSinkHasCurrent || bySequence.keys.contains(where: { $0 > needed }) {
                    count("lost")
                    logger.error("postgres sink: snapshot \(needed) is not in \(dataDirectory) (retention or a torn record); it is lost to the database")
                    nextNeeded = needed + 1
                    continue
                }
                throw .unreachable("snapshot \(needed) is not in \(dataDirectory) yet (the file sink is behind); will retry")
            }
            let decoded: Snapshot
            do {
                decoded = try SnapshotCodec.decode(record.payload)
            } catch {
                count("lost")
                logger.error("postgres sink: snapshot \(needed) in \(dataDirectory) does not decode (\(error)); it is lost to the database")
                nextNeeded = needed + 1
                continue
            }
            try check(decoded, sequence: needed)
            try store(decoded, sequence: needed, session: session)
            nextNeeded = needed + 1
            stored += 1
        }
        if stored > 0 {
            count("caught_up", stored)
            logger.info("postgres sink: caught up \(stored) snapshot(s) from \(dataDirectory) (\(missing.lowerBound) … \(missing.upperBound - 1))")
        }
    }

    /// One snapshot in one transaction; a window already stored is left as it is.
    private func store(_ snapshot: Snapshot, sequence: UInt64, session: PostgresSession) throws(PostgresSinkError) {
        var day = PostgresBindings()
        day.append(Int64(clamping: snapshot.windowStartMicros))
        try session.query("SELECT \(settings.schema).ensure_partition((\(SnapshotRows.time(1)) AT TIME ZONE 'UTC')::date)", day)
        let inserted = try session.transaction { () throws(PostgresSinkError) -> Bool in
            let (sql, binds) = SnapshotRows.windowInsert(snapshot, sequence: sequence, schema: settings.schema)
            guard try !session.query(sql, binds).isEmpty else { return false }
            for (sql, binds) in SnapshotRows.seriesInserts(snapshot, sequence: sequence, schema: settings.schema)
                + SnapshotRows.seriesInserts(snapshot, sequence: sequence, schema: settings.schema, cohorts: true) {
                try session.query(sql, binds)
            }
            return true
        }
        count(inserted ? "stored" : "duplicates")
    }

    /// Once per hour of window time, the previous hour's roll-up (recomputed: later
    /// collectors' rows are folded in by the next call); once per day, retention.
    private func maintain(_ snapshot: Snapshot, session: PostgresSession) throws(PostgresSinkError) {
        let hour = Int64(clamping: snapshot.windowStartMicros / 3_600_000_000)
        if hour != lastRollUpHour {
            if lastRollUpHour >= 0 {
                var binds = PostgresBindings()
                binds.append((hour - 1) * 3_600_000_000)
                try session.query("SELECT \(settings.schema).roll_up_hour(\(SnapshotRows.time(1)))", binds)
            }
            lastRollUpHour = hour
        }
        let day = hour / 24
        if settings.retentionDays > 0 && day != lastRetentionDay {
            var binds = PostgresBindings()
            binds.append(settings.retentionDays)
            let rows = try session.query(
                "SELECT \(settings.schema).drop_partitions_before((now() AT TIME ZONE 'UTC')::date - $1::integer)", binds)
            if let row = rows.first, let dropped = try? row.decode(Int.self), dropped > 0 {
                logger.info("postgres sink: retention dropped \(dropped) day partition(s) older than \(settings.retentionDays) days")
            }
            lastRetentionDay = day
        }
    }
}
