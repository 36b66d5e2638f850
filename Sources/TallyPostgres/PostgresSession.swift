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

    /// A session dropped without ``close()`` (a sink released unclosed) still closes its
    /// connection: postgres-nio requires a connection closed before it goes away. Runs on
    /// the owner's thread, never on an event loop (sessions live on sink threads).
    deinit { close() }

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
        let connecting = PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(),
                                                    configuration: configuration, id: 1, logger: logger)
        do {
            // The connect timeout covers TCP only; the startup and login get the rest of the bound.
            guard let connection = try waitAtMost(Double(settings.connectTimeoutSeconds) * 2, for: connecting) else {
                connecting.whenSuccess { late in let _: EventLoopFuture<Void> = late.close() }  // a login that finishes after we gave up
                throw PostgresSinkError.unreachable("no login within \(settings.connectTimeoutSeconds * 2) s while connecting to \(settings)")
            }
            return PostgresSession(connection: connection, logger: logger)
        } catch {
            throw PostgresSession.classify(error, during: "connecting to \(settings)")
        }
    }

    /// Runs one statement and returns its rows.
    /// - Parameter timeoutSeconds: how long it may take before the connection is taken for dead and closed.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings(),
               timeoutSeconds: Double = PostgresSession.queryTimeoutSeconds) throws(PostgresSinkError) -> [PostgresRow] {
        do {
            let running = connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            guard let result = try waitAtMost(timeoutSeconds, for: running) else {
                // No answer: the connection is dead or stuck. Closing it fails the query and
                // the transaction; the sink reconnects, and the database never sees half a window.
                let _: EventLoopFuture<Void> = connection.close()
                throw PostgresSinkError.unreachable("no answer within \(Int(timeoutSeconds)) s to \(sql.prefix(60))")
            }
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

    /// Runs `body` between BEGIN and COMMIT; rolls back when it throws. When the
    /// connection failed (closed, or no answer) it is closed instead: the server rolls
    /// back a transaction whose connection ends, and a ROLLBACK sent into a dead
    /// connection could wait out a whole query timeout (a CI run saw a sink stall ~2
    /// minutes that way while PostgreSQL restarted).
    func transaction<T>(_ body: () throws(PostgresSinkError) -> T) throws(PostgresSinkError) -> T {
        try query("BEGIN")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            if case .unreachable = error {
                let _: EventLoopFuture<Void> = connection.close()
            } else if !connection.isClosed {
                _ = try? query("ROLLBACK", timeoutSeconds: Self.rollbackTimeoutSeconds)
            }
            throw error
        }
    }

    /// Closes the connection and waits until it is (nothing when it already is), at most
    /// ``closeTimeoutSeconds`` (a socket close is local; the bound is a guard).
    func close() {
        _ = try? waitAtMost(Self.closeTimeoutSeconds, for: connection.close())
    }

    /// Seconds one statement may take before the connection is taken for dead (the
    /// largest is an INSERT of ``SnapshotRows/rowsPerStatement`` series rows).
    static let queryTimeoutSeconds = 120.0
    /// Seconds a ROLLBACK may take (it does no work worth waiting for; past this the connection is closed).
    static let rollbackTimeoutSeconds = 5.0
    static let closeTimeoutSeconds = 10.0

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
