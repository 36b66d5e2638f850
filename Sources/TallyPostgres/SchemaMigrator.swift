import PostgresNIO
import TallyCore
import TallySketches

/// Brings a database to ``SchemaMigrations/latest`` and checks it fits this collector:
/// the extensions exist, the schema is not from a newer Tally, and its sketch parameters
/// are the collector's. Several collectors may migrate at once (an advisory lock
/// serialises them).
enum SchemaMigrator {
    static let extensions = ["hll", "tdigest"]

    /// - Returns: the schema version after migrating.
    /// - Throws: ``PostgresSinkError/missingExtension(_:)``, ``PostgresSinkError/newerSchema(found:known:)``,
    ///   ``PostgresSinkError/parameterMismatch(_:)``, or the session's errors.
    @discardableResult
    static func migrate(_ session: PostgresSession, settings: PostgresSettings,
                        sketches: SketchParameters) throws(PostgresSinkError) -> Int {
        try createExtensions(session, database: settings.database)
        let s = settings.schema
        return try session.transaction { () throws(PostgresSinkError) -> Int in
            try session.query("SELECT pg_advisory_xact_lock(hashtext('tally.migrate.\(s)'))")
            try session.query("CREATE SCHEMA IF NOT EXISTS \(s)")
            try session.query("""
                CREATE TABLE IF NOT EXISTS \(s).schema_version (
                    version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)
                """)
            let current = try integer(session.query("SELECT coalesce(max(version), 0)::bigint FROM \(s).schema_version"))
            if current > SchemaMigrations.latest { throw .newerSchema(found: current, known: SchemaMigrations.latest) }
            for version in stride(from: current + 1, through: SchemaMigrations.latest, by: 1) {
                try session.script(SchemaMigrations.sql(version, schema: s, sketches: sketches), during: "migration \(version)")
                var binds = PostgresBindings()
                binds.append(version)
                binds.append("tallyd migration \(version)")
                try session.query("INSERT INTO \(s).schema_version (version, note) VALUES ($1, $2)", binds)
            }
            try checkParameters(session, schema: s, sketches: sketches)
            return SchemaMigrations.latest
        }
    }

    /// Creates the extensions that are missing; a clear error when that is not possible.
    static func createExtensions(_ session: PostgresSession, database: String) throws(PostgresSinkError) {
        let rows = try session.query("SELECT extname FROM pg_extension")
        let present = Set(rows.compactMap { try? $0.decode(String.self) })
        for name in extensions where !present.contains(name) {
            do {
                try session.query("CREATE EXTENSION IF NOT EXISTS \(name)")
            } catch {
                let package = "postgresql-15-\(name)"
                throw .missingExtension(
                    "\(name) is not installed in database \(database) and could not be created (\(error)); install \(package) on the server and run CREATE EXTENSION \(name) as a superuser in \(database)")
            }
        }
    }

    /// Refuses a schema made for other sketch parameters (the hll columns' type modifier
    /// and the one t-digest compression are fixed when the schema is created). A schema
    /// created with scale k2t takes k2tRelative digests (they merge: ``TDigestScale/mergesWith(_:)``).
    static func checkParameters(_ session: PostgresSession, schema: String, sketches: SketchParameters) throws(PostgresSinkError) {
        let rows = try session.query("""
            SELECT tdigest_compression::bigint, tdigest_scale::bigint, hll_precision::bigint FROM \(schema).sketch_parameters
            """)
        guard let row = rows.first, let (compression, scale, precision) = try? row.decode((Int, Int, Int).self) else {
            throw .server("\(schema).sketch_parameters is empty")
        }
        let schemaScale = TDigestScale(rawValue: UInt8(clamping: scale))
        if compression != sketches.compression || !(schemaScale.map(sketches.scale.mergesWith) ?? false)
            || precision != sketches.hllPrecision {
            throw .parameterMismatch(
                "schema \(schema) holds t-digest compression \(compression), scale \(scale), HyperLogLog precision \(precision); this collector uses compression \(sketches.compression), scale \(sketches.scale.rawValue), precision \(sketches.hllPrecision) (use another postgres_schema or the same sketch parameters)")
        }
    }

    static func integer(_ rows: [PostgresRow]) throws(PostgresSinkError) -> Int {
        guard let row = rows.first, let value = try? row.decode(Int.self) else { throw .server("expected one integer") }
        return value
    }
}
