import Foundation
import Testing
import TallyCore
import TallyDaemon

/// The real tally-load and tallyd processes on loopback ipc://: several producers,
/// the zero-loss verification against the collector's data directory, and its
/// failure; the profile file's errors.
@Suite struct LoadTesterTests {
    static func binary(_ name: String) -> String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/\(name)").path
    }

    /// Runs `tally-load` with `arguments`, bounded by `timeout` seconds; returns (exit status, stdout + stderr).
    func runLoad(_ arguments: [String], timeout: Double = 90) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary("tally-load"))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()  // EOF when the process exits
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: text, as: UTF8.self))
    }

    @Test func severalProducersAreVerifiedLosslessAgainstTheCollectorsSnapshots() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary("tallyd")), "build tallyd first")
        let dir = NSTemporaryDirectory() + "tally-load-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let endpoint = "ipc://" + NSTemporaryDirectory() + "tally-lt-\(UUID().uuidString.prefix(8))"
        let tallyd = Process()
        tallyd.executableURL = URL(fileURLWithPath: Self.binary("tallyd"))
        tallyd.arguments = ["--endpoint", endpoint, "--data-dir", dir, "--window", "1", "--pub", "", "--replay", "", "--http", "",
                            "--collector-id", "load-test"]
        tallyd.standardError = FileHandle.nullDevice
        try tallyd.run()
        defer {
            tallyd.interrupt()
            tallyd.waitUntilExit()
        }
        // The client drops (and counts) frames while no collector is bound: start once
        // tallyd's ipc socket exists, so that all 30,000 are sent.
        let socketPath = String(endpoint.dropFirst("ipc://".count))
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socketPath) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let (status, output) = try runLoad([
            "--endpoint", endpoint, "--producers", "3", "--frames", "30000", "--rate", "20000", "--quiet", "--json",
            "--verify", dir, "--verify-timeout", "60",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("\"passed\":true"), "\(output)")
        #expect(output.contains("\"sent\":30000,"), "\(output)")
        // Three producer ids, each with its own balance line in the verification.
        let verify = try #require(output.range(of: "\"verify\":")).upperBound
        #expect(output[verify...].components(separatedBy: "\"received\":").count - 1 == 3, "\(output)")
        // And the collector agrees, from its own snapshots.
        let records = SnapshotLog.read(directory: dir).records.sorted { $0.sequence < $1.sequence }
        let snapshots = try records.map { try SnapshotCodec.decode($0.payload) }
        #expect(snapshots.reduce(0) { $0 + $1.requests } == 30_000)
        let newest = try #require(snapshots.last)
        let perProducer = newest.counters.filter { $0.key.hasPrefix("producer.") && $0.key.hasSuffix(".frames") }
        #expect(perProducer.count == 3)
        #expect(perProducer.values.reduce(0, +) == 30_000)
    }

    @Test func verificationFailsWhenTheCollectorNeverSawTheFrames() throws {
        // A collector that is not running: every frame is dropped by the client or lost
        // in a socket nobody reads, and the (empty) data directory cannot balance.
        let dir = NSTemporaryDirectory() + "tally-load-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let endpoint = "ipc://" + NSTemporaryDirectory() + "tally-none-\(UUID().uuidString.prefix(8))"
        let (status, output) = try runLoad([
            "--endpoint", endpoint, "--frames", "1000", "--rate", "100000", "--quiet", "--verify", dir,
            "--verify-timeout", "1",
        ])
        #expect(status == 1, "\(output)")
        #expect(output.contains("FAILED"), "\(output)")
    }

    @Test func aProfileWithAnUnknownKeyIsRefusedByName() throws {
        let path = NSTemporaryDirectory() + "tally-profile-\(UUID().uuidString).toml"
        try "tenants = 5\ncanary_shares = 0.1\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, output) = try runLoad(["--profile", path, "--frames", "1"])
        #expect(status != 0)
        #expect(output.contains("canary_shares"), "\(output)")
    }

    @Test func theBuiltInProfileIsItsOwnDocumentationAndParsesBack() throws {
        let (status, output) = try runLoad(["--print-default-profile"])
        #expect(status == 0)
        let path = NSTemporaryDirectory() + "tally-profile-\(UUID().uuidString).toml"
        try output.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The printed profile loads as a profile file and a short run with it succeeds
        // (no collector: the frames are dropped and counted by the client).
        let endpoint = "ipc://" + NSTemporaryDirectory() + "tally-none-\(UUID().uuidString.prefix(8))"
        let run = try runLoad(["--profile", path, "--endpoint", endpoint, "--frames", "100", "--rate", "10000", "--quiet"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("recorded 100,"), "\(run.output)")
    }
}
