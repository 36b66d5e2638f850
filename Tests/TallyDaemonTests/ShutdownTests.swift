import Foundation
import Testing
import TallyClient
import TallyCore
import TallyDaemon
import TallySynthetic

/// The real tallyd process: SIGTERM mid-window with frames in flight, then a restart.
@Suite struct ShutdownTests {
    /// The release tallyd Tools/test.sh builds (`TALLY_TEST_TALLYD`), else the debug one: a
    /// debug build's index evaluation of this fleet's thousands of series takes seconds a
    /// window, which a graceful stop then waits for.
    static var tallyd: String { IndexScenarioTests.tallydPath }

    /// Runs tallyd, publishes for `seconds` (SIGTERM arrives while frames are still
    /// being sent), and returns its exit status.
    func runOnce(dir: String, endpoint: String, seconds: Double, seed: UInt64) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.tallyd)
        process.arguments = ["--endpoint", endpoint, "--data-dir", dir, "--window", "1", "--pub", "", "--replay", "", "--http", "",
                             "--collector-id", "shutdown-test"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [endpoint]))
        var rng = SplitMix64(seed: seed)
        let fleet = SyntheticFleet(tenants: 3, users: 500)
        let start = Date()
        let storedBefore = SnapshotLog.read(directory: dir).records.count
        var signalledAt: Date? = nil
        while signalledAt.map({ Date().timeIntervalSince($0) < 0.5 }) ?? true {
            for _ in 0..<100 { client.record(fleet.frame(eventTimeMicros: UInt64(Date().timeIntervalSince1970 * 1e6), &rng)) }
            // SIGTERM while the client keeps sending, once tallyd is surely up (it has
            // written a snapshot of this run), or after 30 s whatever happened.
            let elapsed = Date().timeIntervalSince(start)
            if signalledAt == nil && elapsed >= seconds
                && (SnapshotLog.read(directory: dir).records.count > storedBefore || elapsed > 30) {
                process.terminate()
                signalledAt = Date()
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        _ = client.close(timeoutMillis: 500)
        // tallyd bounds its own stop; this only keeps a hang from holding the test (a debug
        // build in a loaded full test run once took just over 20 s to seal and write).
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.interrupt(); return -1 }
        return process.terminationStatus
    }

    @Test func sigtermKeepsEveryAcceptedFrameExactlyOnceAcrossARestart() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tallyd), "build tallyd first")
        let dir = NSTemporaryDirectory() + "tally-shutdown-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let endpoint = "ipc://" + NSTemporaryDirectory() + "tally-sd-\(UUID().uuidString.prefix(8))"
        #expect(try runOnce(dir: dir, endpoint: endpoint, seconds: 2.5, seed: 1) == 0, "graceful exit")
        let first = try SnapshotLog.read(directory: dir).records.map { try SnapshotCodec.decode($0.payload) }
        #expect(try runOnce(dir: dir, endpoint: endpoint, seconds: 1.5, seed: 2) == 0, "graceful exit after restart")
        let (records, report) = SnapshotLog.read(directory: dir)
        #expect(report.torn == 0)
        let all = try records.map { (sequence: $0.sequence, snapshot: try SnapshotCodec.decode($0.payload)) }
        let sequences = all.map(\.sequence)
        #expect(Set(sequences).count == sequences.count, "no snapshot stored twice")
        #expect(sequences == Array(0..<UInt64(sequences.count)), "sequences continue across the restart")
        // Per run (counters are cumulative per process): accepted = in snapshots + counted drops.
        let second = Array(all.dropFirst(first.count).map(\.snapshot))
        for run in [first, second] {
            let last = try #require(run.last)
            let accepted = last.counters["frames.accepted"]!
            let dropped = last.counters.filter { $0.key.hasPrefix("dropped.") }.values.reduce(0, +)
            #expect(accepted > 0)
            #expect(run.reduce(0) { $0 + $1.requests } + dropped == accepted)
        }
    }
}
