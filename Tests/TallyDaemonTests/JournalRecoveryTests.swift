import Foundation
import Testing
import TallyClient
import TallyCore
import TallyDaemon
import TallySynthetic
import TallyTestSupport
import TallyWire

/// The ingest journal with a real tallyd killed outright: every frame the collector had
/// accepted is in its data directory exactly once after a restart, whether its window
/// was stored before the kill (left out of the replay) or still open (recovered).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct JournalRecoveryTests {
    final class Run {
        let directory = NSTemporaryDirectory() + "tally-journal-\(UUID().uuidString.prefix(8))"
        let port = HTTPGet.freePort()
        var process: Process?
        var endpoint: String { "ipc://\(directory)/in" }
        var data: String { directory + "/data" }
        /// `journal_directory` when set (a tmpfs), else the data directory's `journal/`.
        let journalDirectory: String?
        var journalPath: String { journalDirectory ?? data + "/journal" }

        init(lateness: Int, journalDirectory: String? = nil) throws {
            self.journalDirectory = journalDirectory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try """
                collector_id = "journal-test"
                window_seconds = 1
                allowed_lateness_seconds = \(lateness)
                http_listen = "127.0.0.1:\(port)"
                index = false
                fsync = "never"
                journal_directory = "\(journalDirectory ?? "")"
                """.write(toFile: directory + "/tally.toml", atomically: true, encoding: .utf8)
        }

        func start() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: IndexScenarioTests.tallydPath)
            process.arguments = ["--config", directory + "/tally.toml", "--data-dir", data, "--endpoint", endpoint,
                                 "--pub", "", "--replay", ""]
            let log = directory + "/tallyd-\(Int(Date().timeIntervalSince1970 * 1000)).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            self.process = process
            let deadline = Date().addingTimeInterval(60)
            while (try? HTTPGet.get(port: port, "/healthz", timeout: 1).status) != 200 && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }

        /// A counter from /metrics (the line `name value`), nil when absent.
        func metric(_ name: String) -> Double? {
            guard let body = try? HTTPGet.get(port: port, "/metrics", timeout: 5).body else { return nil }
            for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
                return Double(line.split(separator: " ")[1])
            }
            return nil
        }

        func kill() {
            guard let process, process.isRunning else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// SIGINT; SIGKILL after 60 s. The exit status.
        func stop() -> Int32 {
            guard let process else { return -1 }
            if process.isRunning {
                process.interrupt()
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
            return process.terminationStatus
        }

        var journalFiles: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: journalPath)) ?? []).filter { $0.hasSuffix(".tjl") }
        }

        /// Requests per window start (s) over every stored snapshot.
        func stored() throws -> [UInt64: UInt64] {
            var perWindow: [UInt64: UInt64] = [:]
            for record in SnapshotLog.read(directory: data).records {
                let snapshot = try SnapshotCodec.decode(record.payload)
                perWindow[snapshot.windowStartMicros / 1_000_000, default: 0] += snapshot.requests
            }
            return perWindow
        }

        deinit {
            kill()
            try? FileManager.default.removeItem(atPath: directory)
            if let journalDirectory { try? FileManager.default.removeItem(atPath: journalDirectory) }
        }
    }

    /// In the data directory, and in a tmpfs (`journal_directory`).
    @Test(arguments: [false, true])
    func aKilledCollectorStoresEveryAcceptedFrameOnceAfterARestart(onTmpfs: Bool) throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        if onTmpfs { try #require(FileManager.default.fileExists(atPath: "/dev/shm"), "no /dev/shm here") }
        // 2 s lateness and 5 s of traffic: windows sealed and stored before the kill, and
        // windows still open at it.
        let run = try Run(lateness: 2, journalDirectory: onTmpfs ? "/dev/shm/tally-journal-test-\(UUID().uuidString.prefix(8))" : nil)
        try run.start()
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [run.endpoint]))
        var rng = SplitMix64(seed: 31)
        let fleet = SyntheticFleet(tenants: 4, users: 300)
        var recorded: [UInt64: UInt64] = [:]
        // One frame, flushed: flush waits for the connection (ZMQ_IMMEDIATE), so nothing
        // after it is dropped for want of one.
        let probeTime = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        client.record(fleet.frame(eventTimeMicros: probeTime, &rng))
        recorded[probeTime / 1_000_000, default: 0] += 1
        try #require(client.flush(timeoutMillis: 20_000), "the client connects")
        let start = Date()
        while Date().timeIntervalSince(start) < 5 {
            for _ in 0..<20 {
                let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
                client.record(fleet.frame(eventTimeMicros: now, &rng))
                recorded[now / 1_000_000, default: 0] += 1
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let counters = client.close(timeoutMillis: 10_000)
        let sent = recorded.values.reduce(0, +)
        #expect(counters.framesSent == sent && counters.dropped.reduce(0, +) == 0, "the client sent everything")
        // Everything accepted, then killed outright before the last windows seal.
        let acceptedBy = Date().addingTimeInterval(20)
        while (run.metric("tally_frames_accepted_total") ?? 0) < Double(sent) && Date() < acceptedBy {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(run.metric("tally_frames_accepted_total") == Double(sent))
        run.kill()
        // Read after the kill: a window sealed between a read and the kill would be counted
        // as unstored here but left out by the recovery.
        let storedBeforeKill = try run.stored()
        let windowsBefore = storedBeforeKill.count
        #expect(windowsBefore >= 1, "some windows were stored before the kill")
        #expect(storedBeforeKill.values.reduce(0, +) < sent, "some frames were only in memory at the kill")
        #expect(!run.journalFiles.isEmpty, "the journal holds the unstored windows' batches")

        // Restarted on the same data directory: the journal's windows come back.
        try run.start()
        let recoveredBy = Date().addingTimeInterval(30)
        while (run.metric("tally_journal_recovered_runs_total") ?? 0) < 1 && Date() < recoveredBy {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let recovered = run.metric("tally_journal_recovered_frames_total") ?? -1
        let alreadyStored = run.metric("tally_journal_recovery_stored_frames_total") ?? -1
        #expect(run.stop() == 0)
        let after = try run.stored()
        print("journal\(onTmpfs ? " (tmpfs)" : ""): \(sent) frames sent, \(storedBeforeKill.values.reduce(0, +)) stored before the kill in \(windowsBefore) windows, \(Int(recovered)) recovered, \(Int(alreadyStored)) left out as stored")
        #expect(recovered == Double(sent - storedBeforeKill.values.reduce(0, +)))
        #expect(alreadyStored >= 0)
        for (window, count) in recorded.sorted(by: { $0.key < $1.key }) {
            #expect(after[window] == count, "window \(window): every frame once")
        }
        #expect(after.values.reduce(0, +) == sent)
        #expect(run.journalFiles.isEmpty, "a clean stop leaves no journal")
    }
}
