import ArgumentParser
import Dispatch
import Foundation
import Logging
import TallyDaemon
import TallyHTTP
import TallyIndex
import TallyOTLP
import TallyPostgres

/// The collector. Settings: defaults < --config file < TALLY_* variables < flags.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the collector (the default command).")

    @Option(name: .long, help: "Configuration file (TOML; see --print-default-config).")
    var config: String?
    @Flag(name: .long, help: "Print the commented default configuration and exit.")
    var printDefaultConfig = false
    @Flag(name: .long, help: "Print the commented default index policy and exit.")
    var printDefaultPolicy = false
    @Option(name: .long, help: "Index policy file (TOML, over the default policy; see --print-default-policy).")
    var policy: String?
    @Option(name: .long, help: "Bind endpoint for frames (repeatable; replaces the configured list).")
    var endpoint: [String] = []
    @Option(name: .long, help: "Data directory of the file sink.")
    var dataDir: String?
    @Option(name: .long, help: "Window length in seconds (1 … 3600).")
    var window: Int?
    @Option(name: .long, help: "Shard threads (0 = one per core).")
    var shards: Int?
    @Option(name: .long, help: "Collector id written into snapshots.")
    var collectorID: String?
    @Option(name: .long, help: "PUB endpoint for the snapshot stream (\"\" disables).")
    var pub: String?
    @Option(name: .long, help: "Replay endpoint (\"\" disables).")
    var replay: String?
    @Option(name: .long, help: "JSON lines of every snapshot: - (stdout) or a file.")
    var json: String?
    @Option(name: .long, help: "Web face (dashboard, /metrics, JSON API) host:port (\"\" disables).")
    var http: String?
    @Flag(name: .long, help: "Print a table of the top series of every window on stdout.")
    var summary = false
    @Flag(name: .long, help: "Create or migrate the PostgreSQL schema (postgres_url), print its version and exit.")
    var postgresMigrate = false

    func run() throws {
        if printDefaultConfig {
            print(DaemonConfiguration.defaultText, terminator: "")
            return
        }
        if printDefaultPolicy {
            print(Policy.defaultText)
            return
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "tallyd")
        logger.logLevel = .info
        var settings = DaemonConfiguration()
        do {
            if let config {
                guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                    throw ConfigError(field: "--config", "cannot read \(config)")
                }
                try settings.load(file: text)
            }
            try settings.applyEnvironment(ProcessInfo.processInfo.environment)
            if !endpoint.isEmpty { settings.endpoints = endpoint }
            if let dataDir { settings.dataDirectory = dataDir }
            if let window { settings.windowSeconds = window }
            if let shards { settings.shards = shards }
            if let collectorID { settings.collectorID = collectorID }
            if let pub { settings.pubEndpoint = pub }
            if let replay { settings.replayEndpoint = replay }
            if let json { settings.jsonLines = json }
            if let policy { settings.policyFile = policy }
            if let http { settings.httpListen = http }
            if summary { settings.summary = true }
            try settings.validate()
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("tallyd: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if postgresMigrate {
            do {
                print("tallyd: PostgreSQL schema \(settings.postgresSchema) at version \(try PostgresWiring.migrate(settings, logger: logger))")
                return
            } catch {
                FileHandle.standardError.write(Data("tallyd: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        let printTable = settings.summary
        // The web face's store, fed once per window on the flusher thread (cheap: sums under a lock).
        let metricLabels: MetricLabels
        do {
            metricLabels = try MetricLabels(settings.httpMetricLabels)
        } catch {
            FileHandle.standardError.write(Data("tallyd: http_metric_labels: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let store = settings.httpListen.isEmpty ? nil
            : WebStore(capacity: settings.httpWindows, maxLabelSets: settings.httpMaxLabelSets, labels: metricLabels,
                       vllmMaxModelLength: settings.httpVLLMMetrics ? settings.httpVLLMMaxModelLength : nil)
        // The web face starts first (a taken port stops tallyd before anything else runs);
        // the collector's counters and policy are attached once it exists.
        var web: HTTPServer?
        if let store, let (host, port) = DaemonConfiguration.hostPort(settings.httpListen) {
            let face = WebFace(store: store, token: settings.httpToken, maxLabelSets: settings.httpMaxLabelSets,
                               collectorID: settings.collectorID)
            let server = HTTPServer(face: face, host: host, port: port, logger: logger)
            do {
                try server.start()
            } catch {
                FileHandle.standardError.write(Data("tallyd: cannot start: \(error)\n".utf8))
                throw ExitCode(1)
            }
            web = server
        }
        let collector: Collector
        do {
            let onSnapshot: @Sendable (EncodedSnapshot) -> Void = { encoded in
                store?.record(snapshot: encoded.snapshot, documents: encoded.documents)
                guard printTable else { return }
                print(SnapshotSummary.table(encoded.snapshot))
                if let window = encoded.documents.first { print(IndexSummary.text(window, colour: isatty(1) != 0)) }
                fflush(nil)  // all streams: stdout is a C global, not concurrency-safe to name
            }
            collector = try Collector(configuration: settings, logger: logger,
                                      extraSinks: try PostgresWiring.sinks(settings, logger: logger),
                                      onSnapshot: printTable || store != nil ? onSnapshot : nil)
        } catch let error as ConfigError {
            web?.stop()
            FileHandle.standardError.write(Data("tallyd: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            web?.stop()
            FileHandle.standardError.write(Data("tallyd: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        // OTLP/HTTP ingest (otlp_listen): its own listener and ingest thread, on a port of its own into the engine.
        let otlp: OTLPServer?
        do {
            otlp = try OTLPWiring.start(settings: settings, collector: collector, logger: logger)
        } catch {
            // The collector has not started (its stop would wait for a flusher that never ran).
            web?.stop()
            FileHandle.standardError.write(Data("tallyd: cannot start: \(error)\n".utf8))
            throw ExitCode(error is ConfigError ? 2 : 1)
        }
        web?.face.attach(policy: collector.index?.policy, counters: { collector.counters() })
        // Older windows for /api/v1/snapshots: the file sink's data directory.
        let archive = SnapshotArchive(directory: settings.dataDirectory)
        web?.face.attach(storedWindows: { from, to, limit in
            let read = archive.read(from: from, to: to, limit: limit)
            return StoredWindows(snapshots: read.snapshots, heldFromMicros: read.heldFromMicros,
                                 heldToMicros: read.heldToMicros, held: read.held)
        })
        if settings.httpFleetIndex {
            web?.face.attach(fleetWindows: try PostgresWiring.fleetWindows(settings, logger: logger))
        }
        let server = web
        // SIGINT/SIGTERM: graceful stop, then exit 0 (1 when something had to be abandoned).
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let done = DispatchSemaphore(value: 0)
        let stop = StopOnce()
        var handlers: [DispatchSourceSignal] = []
        let signalQueue = DispatchQueue(label: "tally.signals")
        for number in [SIGINT, SIGTERM] {
            // A queue of its own (serial queues get a thread even when the global pool's
            // few threads are busy: on two cores, long-running work there could leave a
            // SIGTERM unhandled).
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler {
                guard stop.claim() else { return }
                logger.info("signal \(number): stopping")
                if let otlp, !otlp.stop(timeoutSeconds: 5) { logger.error("OTLP listener did not stop within 5 s") }
                stop.result = collector.stop()
                if let server, !server.stop(timeoutSeconds: 5) { logger.error("web face did not stop within 5 s") }
                done.signal()
            }
            source.resume()
            handlers.append(source)
        }
        collector.start()
        done.wait()
        _ = handlers
        if !stop.result { throw ExitCode(1) }
    }
}

/// Claimed by the first signal (later ones are ignored while stopping); holds
/// whether the stop was clean. `result` is read after the semaphore the handler signals.
final class StopOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false
    var result = true
    func claim() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }
}

/// Builds and starts the OTLP/HTTP listener from the `otlp_*` settings; nil when `otlp_listen` is "".
enum OTLPWiring {
    static func start(settings: DaemonConfiguration, collector: Collector, logger: Logger) throws -> OTLPServer? {
        guard let (host, port) = DaemonConfiguration.hostPort(settings.otlpListen) else { return nil }
        var mapping = GenAIMappingConfiguration()
        mapping.versionAttribute = settings.otlpVersionAttribute
        mapping.ringAttribute = settings.otlpRingAttribute
        mapping.routeAttribute = settings.otlpRouteAttribute
        mapping.userAttribute = settings.otlpUserAttribute
        mapping.idSecret = settings.otlpIDSecret
        do {
            mapping.tags = try GenAIMappingConfiguration.parseTags(settings.otlpTagAttributes)
        } catch {
            throw ConfigError(field: "otlp_tag_attributes", error.message)
        }
        let worker = OTLPIngestWorker(port: collector.makeIngestPort())
        let server = OTLPServer(host: host, port: port, maxBodyBytes: settings.otlpMaxBodyBytes,
                                mapper: GenAISpanMapper(configuration: mapping), worker: worker, logger: logger)
        collector.addCounters { server.counters() }
        try server.start()
        return server
    }
}

/// tallyd's PostgreSQL sink, from the `postgres_*` settings (TallyPostgres/SCHEMA.md).
enum PostgresWiring {
    /// The sink when `postgres_url` is set, else none. The password comes from
    /// `postgres_password_file`, else `TALLY_POSTGRES_PASSWORD`, else the URL.
    /// - Throws: ``PostgresSinkError``: a wrong password, a missing extension, a schema
    ///   from a newer Tally or with other sketch parameters stop tallyd before it starts;
    ///   an unreachable server does not (the sink catches up from the data directory later).
    static func sinks(_ settings: DaemonConfiguration, logger: Logger) throws -> [any SnapshotSink] {
        guard !settings.postgresURL.isEmpty else { return [] }
        return [try PostgresSink(settings: postgresSettings(settings), collectorID: settings.collectorID,
                                 sketches: settings.engine.sketches, dataDirectory: settings.dataDirectory, logger: logger)]
    }

    /// Every collector's windows from PostgreSQL for the web face's fleet index
    /// (`http_fleet_index`); the reader opens a session per request.
    static func fleetWindows(_ settings: DaemonConfiguration, logger: Logger) throws -> FleetWindowsSource {
        let postgres = try postgresSettings(settings)
        var errorsOnly = logger
        errorsOnly.logLevel = .error
        let quiet = errorsOnly
        return FleetWindowsSource(name: "postgresql") { from, to in
            let read = try PostgresSnapshotReader.read(settings: postgres, from: from, to: to, logger: quiet)
            return FleetWindowsSource.Read(snapshots: read.snapshots, problems: read.problems)
        }
    }

    /// `tallyd --postgres-migrate`: create or migrate the schema, check it, print its version.
    static func migrate(_ settings: DaemonConfiguration, logger: Logger) throws -> Int {
        guard !settings.postgresURL.isEmpty else { throw PostgresSinkError.configuration("postgres_url is not set") }
        return try PostgresSink.migrate(settings: postgresSettings(settings), sketches: settings.engine.sketches, logger: logger)
    }

    static func postgresSettings(_ settings: DaemonConfiguration) throws -> PostgresSettings {
        var parsed = try PostgresSettings.parse(url: settings.postgresURL, schema: settings.postgresSchema,
                                                passwordFile: settings.postgresPasswordFile,
                                                retentionDays: settings.postgresRetentionDays)
        if settings.postgresPasswordFile.isEmpty, let password = ProcessInfo.processInfo.environment["TALLY_POSTGRES_PASSWORD"] {
            parsed.password = password
        }
        return parsed
    }
}
