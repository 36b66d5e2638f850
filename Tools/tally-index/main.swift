import ArgumentParser
import Foundation
import Logging
import TallyCore
import TallyDaemon
import TallyIndex
import TallyPostgres

/// tally-index: evaluates an index policy over a data directory offline — replay last
/// week against a new policy before deploying it — and prints the index documents
/// (JSON lines), a per-window summary, or what would have alerted.
@main
struct TallyIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-index",
        abstract: "Evaluate a Tally index policy over stored snapshots.",
        discussion: """
            Reads every snapshot in the data directory in window order (a collector's sequence
            numbers, merged across collectors per window when several wrote there), runs the
            policy over them exactly as tallyd would, and prints what it finds. With
            --postgres-url it reads the windows of every collector from PostgreSQL instead
            (SCHEMA.md), merged per window the same way: the fleet-wide index. Exit status: 0,
            1 when --fail-on-alert is set and an alert fired, 2 for a bad policy, directory or database.
            """)

    @Option(name: .long, help: "tallyd's data directory.")
    var dataDir = "tally-data"
    @Option(name: .long, help: "Policy file (over the default policy); none: the default policy.")
    var policy: String?
    @Option(name: .long, help: "Pinned drift baseline: a snapshot file (SnapshotCodec bytes).")
    var baseline: String?
    @Option(name: .long, help: "What to print: alerts (transitions and a table), summary (per window), json (every document).")
    var output: Output = .alerts
    @Flag(name: .long, help: "Only the window documents with --output json (no rolling spans).")
    var windowsOnly = false
    @Flag(name: .long, help: "Exit 1 when any alert fired.")
    var failOnAlert = false
    @Option(name: .long, help: "Write the roll-up of the stored windows in --from … --to to this file (a snapshot: tallyd's baseline_snapshot, --baseline here) and exit.")
    var writeBaseline: String?
    @Option(name: .long, help: "Start of the windows read from PostgreSQL or rolled up by --write-baseline (µs since the epoch; default: the first stored).")
    var from: UInt64?
    @Option(name: .long, help: "End (exclusive) of those windows (µs since the epoch; default: after the last).")
    var to: UInt64?
    @Option(name: .long, help: "Read every collector's windows from PostgreSQL (postgres://user@host[:port]/database) instead of --data-dir.")
    var postgresURL: String?
    @Option(name: .long, help: "The schema tallyd writes (postgres_schema).")
    var postgresSchema = "tally"
    @Option(name: .long, help: "A file whose first line is the password (else TALLY_POSTGRES_PASSWORD).")
    var postgresPasswordFile = ""
    @Flag(name: .long, help: "Print the default policy and exit.")
    var printDefaultPolicy = false

    enum Output: String, ExpressibleByArgument, CaseIterable { case alerts, summary, json }

    func run() throws {
        if printDefaultPolicy {
            print(Policy.defaultText)
            return
        }
        var rules = Policy.standard
        if let policy {
            guard let text = try? String(contentsOfFile: policy, encoding: .utf8) else { fail("cannot read \(policy)") }
            do { rules = try Policy(file: text) } catch { fail("\(policy): \(error)") }
        }
        let snapshots = postgresURL == nil ? readDataDirectory() : readPostgreSQL()
        let windows = Self.byWindow(snapshots)
        if let writeBaseline {
            let chosen = windows.filter { $0.windowStartMicros >= (from ?? 0) && $0.windowEndMicros <= (to ?? .max) }
            guard !chosen.isEmpty else { fail("no stored window in \(from ?? 0) … \(to ?? .max)") }
            do {
                let baseline = try Snapshot.merged(chosen, collectorID: chosen[0].collectorID)
                guard FileManager.default.createFile(atPath: writeBaseline, contents: Data(SnapshotCodec.encode(baseline))) else {
                    fail("cannot write \(writeBaseline)")
                }
                print("baseline: \(chosen.count) windows, \(baseline.requests) requests, \(baseline.series.count) series → \(writeBaseline)")
            } catch { fail("cannot roll up: \(error)") }
            return
        }
        let engine = IndexEngine(policy: rules, collectorID: snapshots.first?.collectorID ?? "tally-index")
        if let baseline {
            guard let bytes = FileManager.default.contents(atPath: baseline) else { fail("cannot read \(baseline)") }
            do { try engine.pinBaseline(try SnapshotCodec.decode(Array(bytes))) } catch { fail("\(baseline): \(error)") }
        }
        var fired: [AlertEvent] = []
        var evaluated = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let started = Date()
        for window in windows {
            let documents: [IndexDocument]
            do { documents = try engine.evaluate(window) } catch { warn("\(error)"); continue }
            evaluated += 1
            let events = documents.first?.alerts.events ?? []
            fired += events.filter { $0.state == "firing" }
            switch output {
            case .json:
                for document in windowsOnly ? Array(documents.prefix(1)) : documents {
                    print(String(decoding: try encoder.encode(document), as: UTF8.self))
                }
            case .summary:
                if let first = documents.first { print(IndexSummary.text(first, colour: isatty(1) != 0)) }
            case .alerts:
                for event in events where event.state == "firing" || event.state == "resolved" {
                    print("\(SnapshotSummary.clock(event.atMicros)) \(event.state.padding(toLength: 8, withPad: " ", startingAt: 0)) \(event.alert.name) \(event.alert.scope) [\(event.alert.fingerprint)] \(event.alert.summary)")
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        if output == .alerts {
            print("\(evaluated) windows evaluated in \(UnitFormat.fixed(seconds, 2)) s; \(fired.count) alerts fired; \(engine.openAlerts.filter { $0.state == "firing" }.count) still firing at the end")
            var byName: [String: Int] = [:]
            for event in fired { byName[event.alert.name, default: 0] += 1 }
            for (name, count) in byName.sorted(by: { $0.key < $1.key }) { print("  \(name): \(count)") }
        }
        if failOnAlert && !fired.isEmpty { throw ExitCode(1) }
    }

    func readDataDirectory() -> [Snapshot] {
        let (records, report) = SnapshotLog.read(directory: dataDir)
        if records.isEmpty { fail("no snapshots in \(dataDir)") }
        if report.torn > 0 { warn("skipped \(report.torn) torn record(s)") }
        var snapshots: [Snapshot] = []
        var undecodable = 0
        for record in records {
            if let snapshot = try? SnapshotCodec.decode(record.payload) { snapshots.append(snapshot) } else { undecodable += 1 }
        }
        if undecodable > 0 { warn("skipped \(undecodable) undecodable snapshot(s)") }
        return snapshots
    }

    /// Every collector's windows in --from … --to from PostgreSQL (PostgresSnapshotReader).
    func readPostgreSQL() -> [Snapshot] {
        var settings: PostgresSettings
        do {
            settings = try PostgresSettings.parse(url: postgresURL ?? "", schema: postgresSchema, passwordFile: postgresPasswordFile)
        } catch { fail("--postgres-url: \(error)") }
        if postgresPasswordFile.isEmpty, let password = ProcessInfo.processInfo.environment["TALLY_POSTGRES_PASSWORD"] {
            settings.password = password
        }
        var logger = Logger(label: "tally-index")
        logger.logLevel = .error
        let read: PostgresSnapshotReader.ReadResult
        do {
            read = try PostgresSnapshotReader.read(settings: settings, from: from ?? 0, to: to ?? UInt64(Int64.max), logger: logger)
        } catch { fail("\(settings): \(error)") }
        for problem in read.problems.prefix(20) { warn("skipped \(problem)") }
        if read.problems.count > 20 { warn("… and \(read.problems.count - 20) more rows skipped") }
        if read.snapshots.isEmpty { fail("no windows in \(settings) from \(from ?? 0) to \(to ?? UInt64(Int64.max))") }
        return read.snapshots
    }

    /// One snapshot per window start (FleetWindows), warning about windows left out.
    static func byWindow(_ snapshots: [Snapshot]) -> [Snapshot] {
        let (windows, unmergeable) = FleetWindows.byWindow(snapshots)
        if unmergeable > 0 {
            FileHandle.standardError.write(Data("tally-index: skipped \(unmergeable) window(s) whose snapshots could not be merged\n".utf8))
        }
        return windows
    }

    func warn(_ message: String) { FileHandle.standardError.write(Data("tally-index: \(message)\n".utf8)) }
    func fail(_ message: String) -> Never {
        warn(message)
        Foundation.exit(2)
    }
}
