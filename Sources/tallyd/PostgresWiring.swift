import Foundation
import Logging
import TallyDaemon
import TallyPostgres

/// tallyd's PostgreSQL sink, from the `postgres_*` settings (TallyPostgres/SCHEMA.md).
enum PostgresWiring {
    /// The sink when `postgres_url` is set, else none. The password comes from
    /// `postgres_password_file`, else `TALLY_POSTGRES_PASSWORD`, else the URL.
    /// - Throws: ``PostgresSinkError``: a wrong password, a missing extension, a schema
    ///   from a newer Tally or with other sketch parameters stop tallyd before it starts;
    ///   an unreachable server does not (the sink catches up from the data directory later).
    static func sinks(_ settings: DaemonConfiguration, logger: Logger) throws -> [any SnapshotSink] {
        guard !settings.postgresURL.isEmpty else { return [] }
        return [try PostgresSink(settings: postgresSettings(settings), collectorID: settings.collectorID,
                                 sketches: settings.engine.sketches, dataDirectory: settings.dataDirectory, logger: logger)]
    }

    /// `tallyd --postgres-migrate`: create or migrate the schema, check it, print its version.
    static func migrate(_ settings: DaemonConfiguration, logger: Logger) throws -> Int {
        guard !settings.postgresURL.isEmpty else { throw PostgresSinkError.configuration("postgres_url is not set") }
        return try PostgresSink.migrate(settings: postgresSettings(settings), sketches: settings.engine.sketches, logger: logger)
    }

    static func postgresSettings(_ settings: DaemonConfiguration) throws -> PostgresSettings {
        var parsed = try PostgresSettings.parse(url: settings.postgresURL, schema: settings.postgresSchema,
                                                passwordFile: settings.postgresPasswordFile,
                                                retentionDays: settings.postgresRetentionDays)
        if settings.postgresPasswordFile.isEmpty, let password = ProcessInfo.processInfo.environment["TALLY_POSTGRES_PASSWORD"] {
            parsed.password = password
        }
        return parsed
    }
}
