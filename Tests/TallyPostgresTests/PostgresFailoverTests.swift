import Foundation
import Testing
import TallyClient
import TallyDaemon
import TallySynthetic
import TallyWire

/// High availability with real processes: a client lists two tallyd collectors that
/// write into one database; one is killed with SIGKILL mid-run (no goodbye) and
/// restarted on its data directory a few seconds later.
///
/// What holds, exactly: every window after the kill has all of the client's frames (the
/// client's ZeroMQ socket sends only to the connected survivor); every window the
/// killed collector had sealed reaches the database (its file sink wrote it, and the
/// restarted collector's PostgreSQL sink catches up from the data directory); the
/// windows it had not sealed come back from its ingest journal at the restart; no window
/// is stored twice. What a SIGKILL can still lose is what was in flight between the
/// client's socket and the collector's ingest thread (ZeroMQ PUSH has no
/// acknowledgement): the test measures it and holds it to a few batches.
@Suite(.serialized, .timeLimit(.minutes(15)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresFailoverTests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"
    /// Seconds a frame may arrive after its window ends (tallyd's `allowed_lateness_seconds`):
    /// generous, so that a loaded machine's ingest drops nothing as late (which would look
    /// like loss); it also widens what the kill can lose (the windows not sealed yet).
    static let lateness = 5

    /// One tallyd process with the PostgreSQL sink, its own data directory and ipc:// ingest.
    final class Tallyd {
        let collectorID: String
        let directory: String
        let endpoint: String
        private var process: Process?

        /// - Parameter httpPort: with a port, the web face on 127.0.0.1 with the index and
        ///   the fleet index from PostgreSQL (`http_fleet_index`); without, no web face.
        init(_ collectorID: String, cluster: PostgresTestCluster, password: String, httpPort: Int? = nil) throws {
            self.collectorID = collectorID
            directory = NSTemporaryDirectory() + "tally-ha-\(collectorID)-\(UUID().uuidString.prefix(8))"
            endpoint = "ipc://\(directory)/in"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try (password + "\n").write(toFile: directory + "/password", atomically: true, encoding: .utf8)
            try """
                collector_id = "\(collectorID)"
                window_seconds = 1
                allowed_lateness_seconds = \(PostgresFailoverTests.lateness)
                \(httpPort.map { "http_listen = \"127.0.0.1:\($0)\"\nindex = true\nhttp_fleet_index = true" } ?? "http_listen = \"\"\nindex = false")
                fsync = "never"
                postgres_url = "postgres://tally@127.0.0.1:\(cluster.port)/tally"
                postgres_password_file = "\(directory)/password"
                """.write(toFile: directory + "/tally.toml", atomically: true, encoding: .utf8)
        }

        var dataDirectory: String { directory + "/data" }

        /// Starts tallyd and waits (≤ 60 s) until its ingest socket exists.
        func start() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: PostgresTallydStartTests.tallyd)
            process.arguments = ["--config", directory + "/tally.toml", "--data-dir", dataDirectory, "--endpoint", endpoint,
                                 "--pub", "", "--replay", ""]
            process.standardOutput = FileHandle.nullDevice
            // Each start appends to the collector's log, which `stop` prints when the exit is not clean.
            let log = directory + "/tallyd.log"
            if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
            let handle = FileHandle(forWritingAtPath: log)
            _ = try? handle?.seekToEnd()
            process.standardError = handle
            try process.run()
            self.process = process
            let socket = String(endpoint.dropFirst("ipc://".count))
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: socket) && process.isRunning && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            }
            guard FileManager.default.fileExists(atPath: socket) else {
                throw PostgresTestCluster.ClusterError("tallyd \(collectorID) did not bind \(endpoint)")
            }
        }

        /// SIGKILL: no flush, no goodbye.
        func kill() {
            guard let process, process.isRunning else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// SIGINT (seals every open window, drains the sinks); SIGKILL after `seconds`.
        /// Returns the exit status.
        @discardableResult
        func stop(within seconds: Double = 180) -> Int32 {
            guard let process else { return -1 }
            if process.isRunning {
                process.interrupt()
                let deadline = Date().addingTimeInterval(seconds)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
            if process.terminationStatus != 0 {
                let log = (try? String(contentsOfFile: directory + "/tallyd.log", encoding: .utf8)) ?? ""
                print("tallyd \(collectorID) exited with \(process.terminationStatus) (\(process.terminationReason == .uncaughtSignal ? "signal" : "exit")); its log ends:\n\(log.split(separator: "\n").suffix(30).joined(separator: "\n"))")
            }
            return process.terminationStatus
        }

        /// The sequences in the data directory (the source of truth).
        func storedSequences() -> [UInt64] {
            SnapshotLog.read(directory: dataDirectory).records.map(\.sequence).sorted()
        }

        deinit {
            kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func aKilledCollectorsShareGoesToTheSurvivorAndItsSealedWindowsComeBackWithIt() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let a = try Tallyd("ha-a", cluster: cluster, password: Self.password)
        let b = try Tallyd("ha-b", cluster: cluster, password: Self.password)
        try a.start()
        try b.start()
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [a.endpoint, b.endpoint]))
        var rng = SplitMix64(seed: 21)
        let fleet = SyntheticFleet.fewLabelSets(tenants: 5, users: 1_000)

        // Probes (their own model, left out of every sum) until the client has sent, then a
        // moment for the second connection: frames recorded before are the client's to drop.
        var probe = fleet.frame(eventTimeMicros: CollectorRun.nowMicros(), &rng)
        probe.model = "probe"
        let upBy = Date().addingTimeInterval(30)
        while client.counters.framesSent == 0 && Date() < upBy {
            probe.eventTimeMicros = CollectorRun.nowMicros()
            client.record(probe)
            _ = client.flush(timeoutMillis: 100)
        }
        Thread.sleep(forTimeInterval: 0.5)
        let droppedBefore = client.counters.dropped.reduce(0, +)

        // 1,000 frames/s for 22 s; B killed at 12 s, restarted at 16 s.
        var recorded: [Int64: Int] = [:]  // window start (s) → frames recorded
        let start = Date()
        var killedAt: Int64?, restarted = false
        while Date().timeIntervalSince(start) < 22 {
            let t = Date().timeIntervalSince(start)
            if t >= 12 && killedAt == nil {
                b.kill()
                killedAt = Int64(CollectorRun.nowMicros() / 1_000_000)
            }
            if t >= 16 && !restarted {
                try b.start()
                restarted = true
            }
            for _ in 0..<10 {
                let now = CollectorRun.nowMicros()
                client.record(fleet.frame(eventTimeMicros: now, &rng))
                recorded[Int64(now / 1_000_000), default: 0] += 1
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let counters = client.close(timeoutMillis: 10_000)
        let dropped = counters.dropped.reduce(0, +) - droppedBefore
        #expect(a.stop() == 0)
        #expect(b.stop() == 0)

        let rows = try cluster.psql("""
            SELECT w || ' ' || n FROM (SELECT extract(epoch FROM window_start)::bigint AS w, sum(requests) AS n
            FROM tally.series WHERE model <> 'probe' GROUP BY 1) AS per_window ORDER BY w
            """, database: "tally")
        var stored: [Int64: Int] = [:]
        for line in rows.split(separator: "\n") {
            let parts = line.split(separator: " ")
            stored[Int64(parts[0])!] = Int(parts[1])!
        }
        let kill = try #require(killedAt)
        // The windows B had open when it died: up to `lateness` seconds before the kill,
        // and the second of the kill (plus one for batches in flight).
        let exposed = (kill - Int64(Self.lateness) - 2)...(kill + 1)
        let lost = recorded.map { $0.value - (stored[$0.key] ?? 0) }.reduce(0, +)
        let exposedFrames = recorded.filter { exposed.contains($0.key) }.map(\.value).reduce(0, +)
        print("failover: \(recorded.values.reduce(0, +)) frames recorded, \(stored.values.reduce(0, +)) in PostgreSQL, lost \(lost) (client dropped \(dropped)); windows \(recorded.keys.min()!)…\(recorded.keys.max()!), B killed in \(kill), exposed \(exposed) with \(exposedFrames) frames")
        #expect(dropped == 0, "the survivor took everything the client had")
        for (window, count) in recorded.sorted(by: { $0.key < $1.key }) where !exposed.contains(window) {
            #expect(stored[window] == count, "window \(window): every frame, once")
        }
        for (window, count) in stored { #expect(count <= recorded[window] ?? 0, "window \(window) never counts a frame twice") }
        #expect(lost <= exposedFrames, "a SIGKILL loses at most the windows the killed collector had not sealed")
        #expect(lost <= 500, "with the journal, only batches in flight at the kill can be lost")
        // Each collector's rows are its data directory: the restarted B caught up what it
        // had sealed before the kill and not yet stored.
        for collector in [a, b] {
            let sequences = try cluster.psql("SELECT string_agg(sequence::text, ',' ORDER BY sequence) FROM tally.windows WHERE collector_id = '\(collector.collectorID)'",
                                             database: "tally")
            #expect(sequences == collector.storedSequences().map(String.init).joined(separator: ","), "\(collector.collectorID)")
        }
    }
}
