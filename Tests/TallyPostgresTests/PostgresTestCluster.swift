import Foundation
import TallyPostgres

/// A throwaway PostgreSQL 15 cluster (Tools/postgres-test-cluster.sh): initdb into a
/// temporary directory, a server on 127.0.0.1 at a free port, deleted on ``destroy()``
/// (and at deinit, so a failing test does not leave it running).
final class PostgresTestCluster: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = repository + "/Tools/postgres-test-cluster.sh"

    /// Why the PostgreSQL tests cannot run here (nil: they can). Installs the Debian
    /// packages when missing and this process may (root).
    static let unavailable: String? = {
        let (status, output) = run(["/bin/bash", script, "install"])
        if status != 0 { return "PostgreSQL 15 with hll and tdigest is not installed and could not be: \(output)" }
        return nil
    }()
    static var available: Bool { unavailable == nil }

    let directory: String
    let port: Int
    private var destroyed = false

    init() throws {
        directory = NSTemporaryDirectory() + "tally-pg-\(UUID().uuidString.prefix(8))"
        let (status, output) = Self.run(["/bin/bash", Self.script, "start", directory])
        guard status == 0, let port = Int(output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "") else {
            throw ClusterError("start failed: \(output)")
        }
        self.port = port
    }

    deinit { destroy() }

    /// A cluster with database `tally` owned by role `tally` (password `tallyPassword`),
    /// the hll and tdigest extensions created in it.
    convenience init(tallyPassword: String) throws {
        try self.init()
        try makeDatabase("tally", owner: "tally", password: tallyPassword)
        self.tallyPassword = tallyPassword
    }
    /// The password of role `tally` (``init(tallyPassword:)``).
    private(set) var tallyPassword = ""

    /// Settings for the sink as role `tally` in database `tally` over TCP (``init(tallyPassword:)``).
    func tallySettings(schema: String = "tally") -> PostgresSettings {
        settings(user: "tally", password: tallyPassword, database: "tally", schema: schema)
    }

    /// Runs SQL as the superuser over the Unix socket; returns psql's unaligned output.
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        let (status, output) = Self.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                         "-h", directory, "-p", String(port), "-U", "postgres", "-d", database, "-c", sql])
        guard status == 0 else { throw ClusterError("psql failed: \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The last `lines` lines of the server's log (for a failure's diagnosis).
    func serverLogTail(lines: Int) -> String {
        let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "(no server.log)"
        return log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// A login role with a password and a database it owns, with `extensions` created in it (as the superuser).
    func makeDatabase(_ name: String, owner: String, password: String, extensions: [String] = ["hll", "tdigest"]) throws {
        if try psql("SELECT count(*) FROM pg_roles WHERE rolname = '\(owner)'") == "0" {
            try psql("CREATE ROLE \(owner) LOGIN PASSWORD '\(password)'")
        }
        try psql("CREATE DATABASE \(name) OWNER \(owner)")
        for e in extensions { try psql("CREATE EXTENSION \(e)", database: name) }
    }

    /// Settings for the sink over TCP.
    func settings(user: String, password: String, database: String, schema: String = "tally") -> PostgresSettings {
        var settings = try! PostgresSettings.parse(url: "postgres://\(user)@127.0.0.1:\(port)/\(database)", schema: schema)
        settings.password = password
        return settings
    }

    /// Stops the server (fast shutdown); ``restart()`` starts it again on the same port.
    func stop() throws {
        let (status, output) = Self.run(["/bin/bash", Self.script, "stop", directory])
        if status != 0 { throw ClusterError("stop failed: \(output)") }
    }

    func restart() throws {
        let (status, output) = Self.run(["/bin/bash", Self.script, "restart", directory])
        if status != 0 { throw ClusterError("restart failed: \(output)") }
    }

    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        _ = Self.run(["/bin/bash", Self.script, "destroy", directory])
    }

    struct ClusterError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs a program to its end; its status and its stdout and stderr together (through
    /// a file, not a pipe: the server pg_ctl starts may hold a pipe open past the script's
    /// end). posix_spawn and waitpid, not Foundation's Process, whose exit monitoring
    /// stalled here with every pool thread of a 2-core machine busy.
    static func run(_ arguments: [String]) -> (Int32, String) {
        let path = NSTemporaryDirectory() + "tally-pg-run-\(UUID().uuidString)"
        defer { unlink(path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { return (-1, "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : -1, output)
    }
}
