import Foundation
import TallyDaemon
import Testing

/// Scenarios in tally-load's profile file, through the real binary (tally-load is an
/// executable target): a bad scenario key is refused by name and line, and a run's
/// JSON report counts the frames each scenario matched and those it silenced. The
/// scenarios' effects are tested in TallySyntheticTests.
extension LoadTesterTests {
    func writeProfile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "tally-profile-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aScenarioWithAnUnknownKeyIsRefusedByNameAndLine() throws {
        let path = try writeProfile("tenants = 5\n[scenarios.x]\nlatency_multiply = 2\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, output) = try runLoad(["--profile", path, "--frames", "1"])
        #expect(status == 64, "\(output)")  // ArgumentParser's validation failure (EX_USAGE), as for every profile error
        #expect(output.contains("scenarios.x.latency_multiply: unknown key (line 3"), "\(output)")
    }

    @Test func aRunReportsTheFramesEachScenarioMatchedAndSilenced() throws {
        let path = try writeProfile("""
            [scenarios."canary-latency"]
            model = "llama-3.1-70b-instruct"
            ring = "canary"
            latency_multiplier = 3
            [scenarios."small-model-down"]
            end_s = 3600
            model = "llama-3.1-8b-instruct"
            silence = true
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // No collector: the client drops (and counts) what it records; matching happens before.
        let endpoint = "ipc://" + NSTemporaryDirectory() + "tally-none-\(UUID().uuidString.prefix(8))"
        let (status, output) = try runLoad(["--profile", path, "--endpoint", endpoint, "--frames", "4000", "--rate", "20000",
                                            "--json"])
        #expect(status == 0, "\(output)")
        // Not --quiet: the start lines on stderr, then the report on stdout.
        #expect(output.contains("scenario canary-latency: start (model=llama-3.1-70b-instruct, ring=canary: latency ×3)"),
                "\(output)")
        let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let scenarios = try #require(report["scenarios"] as? [[String: Any]])
        #expect(scenarios.map { $0["name"] as? String } == ["canary-latency", "small-model-down"])
        let matched = scenarios.map { ($0["matched"] as? Int) ?? -1 }
        #expect(matched[0] > 0 && matched[1] > 0, "\(line)")
        #expect(scenarios[0]["end_s"] is NSNull && scenarios[1]["end_s"] as? Int == 3600)
        // Silenced frames take their slot in --frames but are never recorded.
        let silenced = try #require(report["silenced"] as? Int)
        #expect(silenced == matched[1])
        #expect((report["recorded"] as? Int).map { $0 + silenced } == 4_000, "\(line)")
    }

    @Test func profileArraysHoldStringsOrNumbers() throws {
        let entries = try ConfigFile.parse("a = [6, 3, 1, 0.5]\nb = [\"x\", \"y\",]\n")
        #expect(entries["a"]?.value == .numbers([6, 3, 1, 0.5]))
        #expect(entries["b"]?.value == .strings(["x", "y"]))
        #expect(throws: ConfigError.self) { try ConfigFile.parse("c = [1, \"x\"]\n") }
        #expect(throws: ConfigError.self) { try ConfigFile.parse("c = [1, two]\n") }
    }
}
