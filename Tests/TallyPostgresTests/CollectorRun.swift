import Foundation
import Logging
import TallyClient
import TallyCore
import TallyDaemon
import TallyPostgres
import TallySynthetic
import TallyWire

/// tallyd's collector in-process (ipc:// ingest, 1-second windows, files in a temporary
/// data directory) with the PostgreSQL sink, fed synthetic frames by a real TallyClient.
final class CollectorRun: @unchecked Sendable {
    let dataDirectory = NSTemporaryDirectory() + "tally-pg-data-\(UUID().uuidString.prefix(8))"
    let ingest = "ipc://" + NSTemporaryDirectory() + "tally-pg-\(UUID().uuidString.prefix(8))-in"
    let collector: Collector
    let sink: PostgresSink
    let client: TallyClient
    /// Frames the client reported as sent (probes included).
    private(set) var probes = 0

    static let probeModel = "probe"

    /// - Parameter allowedLatenessSeconds: 30 by default, so that a loaded machine's slow
    ///   ingest drops no frame as late and every collector of a test counts the same frames
    ///   (stop seals every open window); the outage test wants windows sealed during the run.
    init(settings: PostgresSettings, collectorID: String = "collector-a", windowSeconds: Int = 1,
         allowedLatenessSeconds: Int = 30) throws {
        var c = DaemonConfiguration()
        c.collectorID = collectorID
        c.endpoints = [ingest]
        c.dataDirectory = dataDirectory
        c.pubEndpoint = ""
        c.replayEndpoint = ""
        c.index = false
        c.windowSeconds = windowSeconds
        c.allowedLatenessSeconds = allowedLatenessSeconds
        c.fsync = "never"
        c.sinkQueue = 1_000
        c.shards = 1
        c.prices["llama-3.1-70b-instruct"] = ModelPrice(input: 0.88, cachedInput: 0.44, output: 0.88)
        c.prices["mistral-large"] = ModelPrice(input: 2, cachedInput: 1, output: 6)
        var logger = Logger(label: "tally-pg-test")
        logger.logLevel = .warning
        sink = try PostgresSink(settings: settings, collectorID: collectorID, sketches: c.engine.sketches,
                                dataDirectory: dataDirectory, logger: logger, requireServer: true)
        collector = try Collector(configuration: c, logger: logger, extraSinks: [sink])
        collector.start()
        client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [ingest]))
        // The client drops while its connection comes up: probe frames (their own model) until one arrives.
        var rng = SplitMix64(seed: 99)
        var probe = SyntheticFleet(tenants: 1, users: 1).frame(eventTimeMicros: Self.nowMicros(), &rng)
        probe.model = Self.probeModel
        let deadline = Date().addingTimeInterval(20)
        while collector.counters()["frames.accepted", default: 0] == 0 && Date() < deadline {
            probe.eventTimeMicros = Self.nowMicros()
            client.record(probe)
            _ = client.flush(timeoutMillis: 100)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: dataDirectory) }

    static func nowMicros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }

    func send(_ frames: [TraceFrame]) {
        for frame in frames { client.record(frame) }
        _ = client.flush(timeoutMillis: 2_000)
    }

    /// Closes the client, stops the collector (every open window sealed and delivered).
    /// Returns the client's counters. The sinks get up to 5 minutes to drain: a debug
    /// build stores a few thousand series rows a minute or less on a loaded 2-core machine
    /// (tallyd's own stop timeout is the operator's; this one only must not cut a test short).
    @discardableResult
    func finish() -> TallyClientCounters {
        let counters = client.close(timeoutMillis: 10_000)
        Thread.sleep(forTimeInterval: 0.3)  // the last batches reach the PULL socket
        collector.stop(timeoutSeconds: 300)
        return counters
    }

    /// The snapshots in the data directory (the source of truth), by sequence.
    func stored() throws -> [(sequence: UInt64, snapshot: Snapshot)] {
        try SnapshotLog.read(directory: dataDirectory).records.sorted { $0.sequence < $1.sequence }
            .map { ($0.sequence, try SnapshotCodec.decode($0.payload)) }
    }
}

extension SyntheticFleet {
    /// A fleet of a few hundred label sets at most (models × versions × rings × tenants ×
    /// `routes`; no region, language or tier tags, one prompt version), so each series
    /// merges many frames and a debug build's sinks keep up with 1-second windows.
    static func fewLabelSets(tenants: Int, users: Int, routes: [String] = ["chat"]) -> SyntheticFleet {
        var fleet = SyntheticFleet(tenants: tenants, users: users)
        fleet.regions = []
        fleet.languages = []
        fleet.tiers = []
        fleet.promptVersions = ["p-2024.12"]
        fleet.routes = routes
        return fleet
    }
}
