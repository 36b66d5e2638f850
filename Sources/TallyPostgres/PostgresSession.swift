import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One blocking PostgreSQL connection for the sink's own thread: postgres-nio's
/// futures waited on from that thread (never from an event loop). Not thread-safe:
/// one owner at a time.
final class PostgresSession {
    private let connection: PostgresConnection
    private let logger: Logger

    private init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Connects and logs in.
    /// - Throws: ``PostgresSinkError/unreachable(_:)`` when nothing answered in time,
    ///   ``PostgresSinkError/authentication(_:)`` when the server refused the login.
    static func open(_ settings: PostgresSettings, logger: Logger) throws(PostgresSinkError) -> PostgresSession {
        var configuration: PostgresConnection.Configuration
        if let socket = settings.socketDirectory {
            configuration = .init(unixSocketPath: "\(socket)/.s.PGSQL.\(settings.port)", username: settings.user,
                                  password: settings.password, database: settings.database)
        } else {
            configuration = .init(host: settings.host, port: settings.port, username: settings.user,
                                  password: settings.password, database: settings.database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(Int64(settings.connectTimeoutSeconds))
        do {
            let connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(),
                                                            configuration: configuration, id: 1, logger: logger).wait()
            return PostgresSession(connection: connection, logger: logger)
        } catch {
            throw PostgresSession.classify(error, during: "connecting to \(settings)")
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws(PostgresSinkError) -> [PostgresRow] {
        do {
            let result = try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait()
            return Array(result.rows)
        } catch {
            throw PostgresSession.classify(error, during: String(sql.prefix(60)))
        }
    }

    /// Runs a script of several statements one by one (postgres-nio speaks the extended
    /// protocol only, one statement per query). Statements end with `;` at a line's end
    /// outside `$fn$` bodies.
    func script(_ sql: String, during what: String) throws(PostgresSinkError) {
        var statement = "", inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            statement += line + "\n"
            if line.components(separatedBy: "$fn$").count % 2 == 0 { inBody.toggle() }
            if !inBody && line.hasSuffix(";") {
                try query(statement)
                statement = ""
            }
        }
        if !statement.allSatisfy(\.isWhitespace) { try query(statement) }
    }

    /// Runs `body` between BEGIN and COMMIT; rolls back when it throws.
    func transaction<T>(_ body: () throws(PostgresSinkError) -> T) throws(PostgresSinkError) -> T {
        try query("BEGIN")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    func close() {
        _ = try? connection.close().wait()
    }

    var isClosed: Bool { connection.isClosed }

    /// A postgres-nio error as a sink error with the server's own words (never the
    /// password: postgres-nio's descriptions are generic, so the fields are read).
    static func classify(_ error: any Error, during what: String) -> PostgresSinkError {
        if let error = error as? PostgresSinkError { return error }
        guard let error = error as? PSQLError else { return .unreachable("\(what): \(error)") }
        if error.code == .server, let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            var message = info[.message] ?? "error"
            if let detail = info[.detail] { message += " (\(detail))" }
            message += " [SQLSTATE \(state)] while \(what)"
            switch state {
            case "28P01", "28000", "3D000": return .authentication(message)
            case "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004": return .unreachable(message)
            default: return .server(message)
            }
        }
        switch error.code {
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return .authentication("\(error.code) while \(what) (is a password set: postgres_password_file?)")
        default:
            var message = "\(error.code)"
            if let underlying = error.underlying { message += ": \(underlying)" }
            return .unreachable("\(message) while \(what)")
        }
    }
}
