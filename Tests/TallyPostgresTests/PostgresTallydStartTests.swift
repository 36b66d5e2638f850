import Foundation
import Testing

/// The real tallyd against a throwaway server: `--postgres-migrate` creates the schema;
/// a wrong password or a schema from a newer Tally stops tallyd before it starts, with
/// a clear message that names no password.
@Suite(.serialized, .timeLimit(.minutes(15)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresTallydStartTests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"

    /// The release tallyd Tools/test.sh builds (`TALLY_TEST_TALLYD`), else the debug one.
    static var tallyd: String {
        ProcessInfo.processInfo.environment["TALLY_TEST_TALLYD"] ?? PostgresTestCluster.repository + "/.build/debug/tallyd"
    }

    /// Runs tallyd with `postgres_url` to `cluster` and the password `password` in a password file.
    static func tallyd(_ cluster: PostgresTestCluster, password: String, _ extra: [String] = []) throws -> (Int32, String) {
        let directory = NSTemporaryDirectory() + "tally-pg-tallyd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try (password + "\n").write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        try """
            postgres_url = "postgres://tally@127.0.0.1:\(cluster.port)/tally"
            postgres_password_file = "\(directory)/password"
            """.write(toFile: directory + "/tally.toml", atomically: true, encoding: .utf8)
        return PostgresTestCluster.run([tallyd, "--config", directory + "/tally.toml", "--data-dir", directory + "/data",
                                        "--endpoint", "ipc://\(directory)/in", "--pub", "", "--replay", ""] + extra)
    }

    @Test func badPostgreSQLStopsTallydBeforeItStarts() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }

        let wrong = "not-\(Self.password)"
        let (refused, refusal) = try Self.tallyd(cluster, password: wrong)
        #expect(refused == 1, "\(refusal)")
        #expect(refusal.contains("PostgreSQL refused the login: password authentication failed"), "\(refusal)")
        #expect(!refusal.contains(wrong) && !refusal.contains(Self.password))

        let (migrated, migration) = try Self.tallyd(cluster, password: Self.password, ["--postgres-migrate"])
        #expect(migrated == 0, "\(migration)")
        #expect(migration.contains("PostgreSQL schema tally at version 5"), "\(migration)")

        try cluster.psql("INSERT INTO tally.schema_version (version, note) VALUES (9, 'a newer tally')", database: "tally")
        let (newer, message) = try Self.tallyd(cluster, password: Self.password)
        #expect(newer == 1, "\(message)")
        #expect(message.contains("PostgreSQL schema version 9 was written by a newer Tally"), "\(message)")
        #expect(try cluster.psql("SELECT count(*) FROM tally.windows", database: "tally") == "0", "tallyd stored nothing")
    }
}
