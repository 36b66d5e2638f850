import Foundation

/// Where the PostgreSQL sink writes: a parsed `postgres_url` plus the schema, the
/// password (from the URL or a password file) and the retention.
///
/// `description` never contains the password (logs, errors, `--print-default-config`).
public struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// A Unix socket directory (from `?host=/dir`, as libpq spells it); nil: TCP to ``host``.
    public var socketDirectory: String?
    public var user: String
    public var database: String
    public var password: String?
    /// The schema holding Tally's tables (an identifier: `[a-z_][a-z0-9_]*`, ≤ 63 bytes).
    public var schema: String
    /// Days of series rows kept (partitions older than this are dropped); 0 keeps everything.
    public var retentionDays: Int
    /// Seconds a connection attempt may take before it counts as failed.
    public var connectTimeoutSeconds: Int = 5

    /// Parses `postgres://user[:password]@host[:port]/database[?host=/socket/dir]`
    /// (also `postgresql://`). A password file, when given, is read and its first line
    /// wins over a password in the URL.
    /// - Throws: ``PostgresSinkError/configuration(_:)`` naming what is wrong (never the password).
    public static func parse(url: String, schema: String = "tally", passwordFile: String = "",
                             retentionDays: Int = 30) throws(PostgresSinkError) -> PostgresSettings {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw .configuration("postgres_url: expected postgres://user@host[:port]/database")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .configuration("postgres_url: no user (postgres://user@host/database)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw .configuration("postgres_url: no database (postgres://user@host/database)") }
        let socket = components.queryItems?.first { $0.name == "host" }?.value
        let host = components.host ?? ""
        guard !host.isEmpty || socket != nil else { throw .configuration("postgres_url: no host") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw .configuration("postgres_url: port \(port) not in 1 … 65535") }
        guard isIdentifier(schema) else {
            throw .configuration("postgres_schema: \(schema) is not a plain identifier ([a-z_][a-z0-9_]*, ≤ 63 bytes)")
        }
        guard (0...100_000).contains(retentionDays) else {
            throw .configuration("postgres_retention_days: \(retentionDays) not in 0 … 100000")
        }
        var password = components.password?.removingPercentEncoding
        if !passwordFile.isEmpty {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw .configuration("postgres_password_file: cannot read \(passwordFile)")
            }
            password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        return PostgresSettings(host: host, port: port, socketDirectory: socket, user: user.removingPercentEncoding ?? user,
                                database: database.removingPercentEncoding ?? database, password: password,
                                schema: schema, retentionDays: retentionDays)
    }

    /// Whether `name` can be spliced into SQL as an identifier without quoting.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, first == UInt8(ascii: "_") || (97...122).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (97...122).contains($0) || (48...57).contains($0) }
    }

    /// The server and database, without the password.
    public var description: String {
        let place = socketDirectory.map { "socket \($0) port \(port)" } ?? "\(host):\(port)"
        return "postgres://\(user)@\(place)/\(database) schema \(schema)"
    }
}
