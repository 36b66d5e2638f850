import Foundation
import Logging
import Synchronization
import TallyCore
import TallyWire
import ZeroMQ

/// tallyd's parts wired together: ZeroMQ sources → aggregation engine → flusher
/// (a snapshot per sealed window, numbered) → one ``SinkWorker`` per sink.
///
/// Snapshot sequence numbers continue across restarts (the next is one past the
/// highest in the data directory). Counters in every snapshot are cumulative since
/// this process started.
public final class Collector: @unchecked Sendable {
    public let configuration: DaemonConfiguration
    public let engine: AggregationEngine
    private let context: ZMQContext
    private let sources: [ZeroMQSource]
    /// ZAP handler and connection cap of the ingest sockets.
    public let gate: IngestGate
    /// The ingest's bounds, derived from the memory budget.
    public let budget: IngestBudget
    /// Frames received per producer id, over every source.
    public let producers: ProducerLedger
    public let sinks: [SinkWorker]
    /// The index transform; nil when `index = false`.
    public let index: IndexStage?
    private let replay: ReplayServer?
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let flusherDone = DispatchSemaphore(value: 0)
    let flushLock = Mutex<FlushState>(FlushState(nextSequence: 0))
    /// Called with each snapshot after it was handed to the sinks (the demo's table).
    let onSnapshot: (@Sendable (EncodedSnapshot) -> Void)?

    struct FlushState {
        var nextSequence: UInt64
        var lastFlushMicros: UInt64 = 0
        var lastSnapshotBytes: UInt64 = 0
        var snapshots: UInt64 = 0
        var journalWatermark = JournalWatermark()
    }

    /// The file sink (the source of truth; the journal waits for it).
    let fileSink: FileSink
    /// Windows the file sink dropped: their journal segments stay for the next start.
    let droppedWindows = DroppedWindows()
    /// How long the flusher waits for room in the file sink's queue before it drops a
    /// snapshot (seconds). A burst of windows (the final flush seals every open one at
    /// once) then waits for a sink that keeps up instead of losing windows to it.
    public static let fileSinkAdmitWaitSeconds = 5.0
    /// The ingest journal's writers (one per source; empty with `journal = false`), this
    /// run's name in it, and the runs that died before storing their windows.
    let journalWriters: [JournalWriter]
    let journalRun: JournalRun
    let deadRuns: [JournalRecovery.DeadRun]
    let recovery = Mutex(JournalRecoveryCounters())

    /// Binds every endpoint and opens every sink; throws before anything runs when
    /// one fails (a taken port, an unwritable data directory).
    /// - Parameter extraSinks: more sinks (each behind its own worker), e.g. from an embedding program.
    /// - Parameter clock: the collector's clock, µs since the Unix epoch: the engine's (windows
    ///   sealed, producers active and released) and the producer ledger's (idle producers
    ///   retired). Injectable for tests, which run minutes of it in seconds. The ingest
    ///   journal stamps batches by the wall clock whatever this is and drops segments by this
    ///   clock's sealed windows: with another clock, run with `journal = false`.
    public init(configuration: DaemonConfiguration, logger: Logger = Logger(label: "tallyd"),
                extraSinks: [any SnapshotSink] = [],
                onSnapshot: (@Sendable (EncodedSnapshot) -> Void)? = nil,
                clock: @escaping @Sendable () -> UInt64 = AggregationEngine.wallClockMicros) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.onSnapshot = onSnapshot
        index = configuration.index ? try IndexStage(configuration: configuration, logger: logger) : nil
        engine = AggregationEngine(configuration: configuration.engine, clock: clock)
        producers = ProducerLedger(clock: clock)
        context = try ZMQContext()
        budget = try configuration.ingestBudget
        var curveSecretKey: [UInt8]? = nil
        var allowlist: ProducerAllowlist? = nil
        if !configuration.curveSecretKeyFile.isEmpty {
            guard ZMQCurve.isAvailable else {
                throw ConfigError(field: "curve_secret_key_file", "this libzmq was built without CURVE (zmq_has(\"curve\") = 0)")
            }
            let text = try CurveKeyFile.read(configuration.curveSecretKeyFile, field: "curve_secret_key_file")
            curveSecretKey = ZMQCurve.decode(text)
            allowlist = try ProducerAllowlist(directory: configuration.curveAllowedProducersDir)
        }
        // The ZAP handler is bound before any socket with a ZAP domain binds.
        gate = try IngestGate(context: context, maxConnections: budget.maxConnections, allowlist: allowlist)
        fileSink = try FileSink(directory: configuration.dataDirectory, maxBytes: configuration.fileMaxBytes,
                                maxSeconds: configuration.fileMaxSeconds, retention: configuration.fileRetention,
                                fsyncEachRecord: configuration.fsync == "always")
        var outlets: [any SnapshotSink] = [fileSink]
        if !configuration.pubEndpoint.isEmpty {
            outlets.append(try PubSink(context: context, endpoint: configuration.pubEndpoint, curveSecretKey: curveSecretKey))
        }
        if !configuration.jsonLines.isEmpty { outlets.append(try JSONLinesSink(path: configuration.jsonLines)) }
        if let url = try? HTTPURL.parse(configuration.alertmanagerURL).get() { outlets.append(AlertmanagerSink(alertmanager: url)) }
        if let url = try? HTTPURL.parse(configuration.alertWebhookURL).get() { outlets.append(AlertmanagerSink(webhook: url)) }
        outlets += extraSinks
        // The sinks' share of the budget, split equally, so a stuck sink cannot take another's.
        let queueBytes = configuration.memoryShares.sinkQueueBytes / outlets.count
        // The file sink's (the first's) drops lose data: the flusher waits for room in its
        // queue, and a window it drops anyway keeps its journal segments for the next start.
        let droppedWindows = self.droppedWindows
        let journaled = configuration.journal
        let onFileSinkDrop: @Sendable (EncodedSnapshot) -> Void = { dropped in
            guard droppedWindows.note(startMicros: dropped.snapshot.windowStartMicros) else { return }
            logger.error("""
                the file sink dropped window \(dropped.snapshot.windowStartMicros) µs (sequence \(dropped.sequence)); \
                \(journaled ? "its ingest journal segments are kept: the next start recovers it" : "journal = false: its frames are lost")
                """)
        }
        sinks = outlets.enumerated().map { i, sink in
            SinkWorker(sink: sink, capacity: configuration.sinkQueue, maxQueuedBytes: queueBytes,
                       admitWaitSeconds: i == 0 ? Collector.fileSinkAdmitWaitSeconds : 0,
                       onDrop: i == 0 ? onFileSinkDrop : nil)
        }
        // Only the newest file with an intact record is read here (one record in memory at a
        // time); the index replays its windows from the directory when the flusher starts.
        let stored = SnapshotLog.newestSequence(directory: configuration.dataDirectory)
        let firstSequence = stored.sequence.map { $0 + 1 } ?? 0
        flushLock.withLock { $0.nextSequence = firstSequence }
        // The journal: earlier runs' segments are found now, before this run writes any.
        let journalDirectory = configuration.journalPath
        journalRun = JournalRun(firstSequence: firstSequence, startedMicros: AggregationEngine.wallClockMicros())
        if configuration.journal {
            try SnapshotLogWriter.makeDirectory(journalDirectory)
            deadRuns = JournalRecovery.deadRuns(directory: journalDirectory)
        } else {
            deadRuns = []
        }
        if stored.report.torn > 0 {
            logger.warning("data directory: skipped \(stored.report.torn) torn snapshot record(s) (a crash mid-write)")
        }
        replay = configuration.replayEndpoint.isEmpty ? nil
            : try ReplayServer(context: context, endpoint: configuration.replayEndpoint, directory: configuration.dataDirectory,
                                   curveSecretKey: curveSecretKey)
        var settings = IngestSocketSettings(receiveQueueBatches: budget.receiveQueueBatches)
        settings.curveSecretKey = curveSecretKey
        settings.drainMillis = configuration.shutdownDrainSeconds * 1_000
        var sources: [ZeroMQSource] = []
        var writers: [JournalWriter] = []
        for (i, endpoint) in configuration.endpoints.enumerated() {
            let journal = configuration.journal
                ? JournalWriter(directory: journalDirectory, run: journalRun, source: i, policy: configuration.engine.window) : nil
            if let journal { writers.append(journal) }
            sources.append(try ZeroMQSource(context: context, endpoint: endpoint, port: engine.makeIngestPort(),
                                            producers: producers, settings: settings, gate: gate, journal: journal))
        }
        self.sources = sources
        journalWriters = writers
    }

    /// A port into the engine for one more ingest thread (e.g. OTLP/HTTP's), with the
    /// same limits and counters as the ZeroMQ sources'.
    public func makeIngestPort() -> IngestPort { engine.makeIngestPort() }

    /// Adds counters from outside the collector (e.g. OTLP/HTTP's `otlp.*`) to ``counters()``,
    /// so snapshots and `/metrics` carry them. Call before ``start()``.
    public func addCounters(_ source: @escaping @Sendable () -> [String: UInt64]) {
        extraCounters.withLock { $0.append(source) }
    }
    private let extraCounters = Mutex<[@Sendable () -> [String: UInt64]]>([])

    /// Starts the shards, the ingest threads and the flusher.
    public func start() {
        engine.start()
        gate.start()
        for source in sources { source.start() }
        let thread = Thread { [self] in
            // Windows a killed run had not stored come back from its journal first, so
            // their sequences precede this run's windows.
            recoverJournal()
            // The newest stored windows go through the index here, before the first flush:
            // ingest is already running, so a replay of many busy windows at a restart does
            // not keep producers' frames out.
            index?.replay(directory: configuration.dataDirectory, limit: configuration.indexReplayWindows)
            while !stopping.load(ordering: .acquiring) {
                flush()
                Thread.sleep(forTimeInterval: 0.05)
            }
            flusherDone.signal()
        }
        thread.name = "tally.flusher"
        thread.start()
        var outputs = ["snapshots every \(configuration.windowSeconds) s to \(configuration.dataDirectory)/"]
        if !configuration.pubEndpoint.isEmpty { outputs.append("PUB \(configuration.pubEndpoint)") }
        if !configuration.replayEndpoint.isEmpty { outputs.append("replay \(configuration.replayEndpoint)") }
        if !configuration.alertmanagerURL.isEmpty { outputs.append("alerts to Alertmanager \(configuration.alertmanagerURL)") }
        if !configuration.alertWebhookURL.isEmpty { outputs.append("alerts to \(configuration.alertWebhookURL)") }
        logger.info("""
            memory budget \(configuration.memoryBudgetMiB) MiB: receive queue \(budget.receiveQueueBatches) batches × \
            \(budget.maxConnections) connections ≤ \(budget.worstCaseQueuedBytes >> 20) MiB; \
            window tables ≤ \(configuration.engine.memoryLimitBytes >> 20) MiB; \
            series per shard and window ≤ \(configuration.engine.maxSeriesPerShardWindow); \
            symbols ≤ \(configuration.engine.maxSymbols); \
            sink queues ≤ \(configuration.memoryShares.sinkQueueBytes >> 20) MiB; \
            CURVE \(configuration.curveSecretKeyFile.isEmpty ? "off" : "on")
            """)
        if configuration.curveSecretKeyFile.isEmpty {
            for endpoint in configuration.endpoints + [configuration.pubEndpoint, configuration.replayEndpoint]
            where !Collector.isLoopback(endpoint) {
                logger.warning("\(endpoint) is reachable beyond this host without CURVE: anyone who can connect can send frames or read snapshots (set curve_secret_key_file)")
            }
        }
        logger.info("tallyd \(configuration.collectorID): ingest on \(configuration.endpoints.joined(separator: ", ")); \(outputs.joined(separator: ", "))")
    }

    /// Graceful shutdown: stop receiving, drain the rings, seal and flush every open
    /// window, deliver queued snapshots and close the sinks — each step bounded by
    /// `timeoutSeconds`. Returns true when nothing had to be abandoned.
    @discardableResult
    public func stop(timeoutSeconds: Double = 10) -> Bool {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return true }
        flusherDone.wait()
        for source in sources { source.stop() }
        gate.stop()
        let drained = engine.stop(timeoutMillis: Int(timeoutSeconds * 1_000))
        flush()
        var clean = drained
        for sink in sinks where !sink.close(timeoutSeconds: timeoutSeconds) {
            logger.error("sink \(sink.sink.name) did not finish within \(timeoutSeconds) s; its queued snapshots are counted as dropped")
            clean = false
        }
        // The last snapshot's counters were taken before the final flush: drops since then
        // are only seen here.
        for sink in sinks {
            let dropped = sink.counters.dropped.filter { $0.value > 0 }
            guard !dropped.isEmpty else { continue }
            logger.warning("sink \(sink.sink.name) dropped snapshots since start: \(dropped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " "))")
        }
        // Every window is sealed and, when the file sink finished, written: the journal has
        // nothing left to protect. Otherwise it stays for the next start.
        if drained && everythingHandedIsWritten {
            for writer in journalWriters { writer.removeAll() }
        } else if !journalWriters.isEmpty {
            logger.warning("the ingest journal is kept: not every window reached the data directory; the next start recovers them")
        }
        replay?.stop()
        logger.info("tallyd stopped: \(counters()["frames.accepted"] ?? 0) frames accepted, \(flushLock.withLock { $0.snapshots }) snapshots")
        return clean
    }

    /// Everything the daemon counts, by stable name: the engine's counters plus
    /// ingest (`ingest.batches`, `ingest.bytes`, `ingest.frames` of valid batches,
    /// `ingest.rejected.<reason>`), sinks
    /// (`sink.<name>.delivered|failures|retries|queue_depth|dropped.<reason>`) and
    /// the flusher (`flush.micros`, `snapshot.bytes`, `snapshots`), the index
    /// (`index.windows` evaluated, `index.refused` windows not after the last one), the
    /// replay endpoint (`replay.snapshots_served`) and each producer
    /// (`producer.<id>.frames|ingest_dropped|batches|folded|late|future`, ``ProducerLedger``).
    public func counters() -> [String: UInt64] {
        let engineCounters = engine.counters
        var c = engineCounters.named
        c["ingest.batches"] = sources.reduce(0) { $0 + $1.batches.load(ordering: .relaxed) }
        c["ingest.bytes"] = sources.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) }
        c["ingest.frames"] = sources.reduce(0) { $0 + $1.frames.load(ordering: .relaxed) }
        c["ingest.dropped.shutdown_batches"] = sources.reduce(0) { $0 + $1.shutdownDroppedBatches.load(ordering: .relaxed) }
        c["ingest.dropped.shutdown_frames"] = sources.reduce(0) { $0 + $1.shutdownDroppedFrames.load(ordering: .relaxed) }
        c["ingest.receive_queue_batches"] = UInt64(budget.receiveQueueBatches)
        c["ingest.max_connections"] = UInt64(budget.maxConnections)
        c.merge(gate.counters) { $1 }
        for reason in WireRejectReason.allCases {
            c["ingest.rejected.\(reason.name)"] = sources.reduce(0) { $0 + ($1.rejectedByReason[reason] ?? 0) }
        }
        for sink in sinks {
            let s = sink.counters, name = sink.sink.name
            c["sink.\(name).delivered"] = s.delivered
            c["sink.\(name).failures"] = s.failures
            c["sink.\(name).retries"] = s.retries
            c["sink.\(name).queue_depth"] = UInt64(s.queueDepth)
            c["sink.\(name).queue_bytes"] = UInt64(s.queuedBytes)
            c["sink.\(name).queue_max_bytes"] = UInt64(sink.maxQueuedBytes)
            for reason in SinkDropReason.allCases { c["sink.\(name).dropped.\(reason.rawValue)"] = s.dropped[reason] ?? 0 }
            for (counter, value) in sink.sink.counters { c["sink.\(name).\(counter)"] = value }
        }
        flushLock.withLock {
            c["flush.micros"] = $0.lastFlushMicros
            c["snapshot.bytes"] = $0.lastSnapshotBytes
            c["snapshots"] = $0.snapshots
        }
        if let index { c.merge(index.counters) { $1 } }
        for source in extraCounters.withLock({ $0 }) { c.merge(source()) { $1 } }
        if let replay { c["replay.snapshots_served"] = replay.served.load(ordering: .relaxed) }
        if configuration.journal { c.merge(journalCounters) { $1 } }
        let ledger = producers.snapshot
        for (producer, entry) in ledger {
            c[ProducerLedger.counterName(producer: producer, field: "frames")] = entry.frames
            c[ProducerLedger.counterName(producer: producer, field: "ingest_dropped")] = entry.ingestDropped
            c[ProducerLedger.counterName(producer: producer, field: "batches")] = entry.batches
            for field in ["folded", "late", "future", "memory_bytes"] {
                c[ProducerLedger.counterName(producer: producer, field: field)] = 0
            }
        }
        // Folds (the series cap's fair shares, WindowTable), late and future frames by
        // producer, and the window tables' bytes each holds (a gauge, EngineMemory); a
        // producer the ledger does not list (past its capacity) counts under `producer.other`.
        for (field, byProducer) in [("folded", engineCounters.foldedByProducer), ("late", engineCounters.lateByProducer),
                                    ("future", engineCounters.futureByProducer),
                                    ("memory_bytes", engineCounters.memoryBytesByProducer)] {
            for (producer, frames) in byProducer {
                let listed = ledger[producer] != nil ? producer : ProducerLedger.otherProducers
                c[ProducerLedger.counterName(producer: listed, field: field), default: 0] &+= frames
            }
        }
        return c
    }

    /// Whether `endpoint` is reachable only from this host: ipc://, inproc://, or tcp://
    /// on 127.0.0.0/8, ::1 or localhost. An empty endpoint (disabled) counts as local.
    public static func isLoopback(_ endpoint: String) -> Bool {
        guard endpoint.hasPrefix("tcp://") else { return true }
        var host = String(endpoint.dropFirst(6))
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if let semicolon = host.lastIndex(of: ";") { host = String(host[host.index(after: semicolon)...]) }  // source;dest
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host.hasPrefix("127.") || host == "::1" || host == "localhost"
    }

    /// The next sequence and the snapshot of `window` (its strings in `symbols`); nil, logged,
    /// when the snapshot cannot be built (it cannot: the engine has one parameter set).
    func numberedSnapshot(_ window: SealedWindow, symbols: SymbolTable) -> (UInt64, Snapshot)? {
        let sequence = flushLock.withLock { s -> UInt64 in
            defer { s.nextSequence += 1 }
            return s.nextSequence
        }
        do {
            return (sequence, try Snapshot.build(window, collectorID: configuration.collectorID, sequence: sequence,
                                                 symbols: symbols, sketches: configuration.engine.sketches,
                                                 counters: counters(), cohortSummaries: configuration.engine.cohortSummaries))
        } catch {
            logger.error("window at \(window.startMicros): snapshot failed: \(error)")
            return nil
        }
    }

    /// Turns every sealed window into a snapshot and hands it to the sinks, then lets the
    /// journal drop the segments whose windows are all written.
    func flush() {
        let sealedThrough = engine.sealedThroughMicros
        defer { releaseJournal(sealedThroughMicros: sealedThrough) }
        let windows = engine.collectSealedWindows()
        // Producers the engine released (idle for minutes): their counts join `producer.other`
        // before these windows' snapshots take the counters.
        producers.retire(engine.takeReleasedProducers())
        // And producers idle past twice that delay: those the engine never numbered (its
        // directory was full) are never released there, and would hold the ledger's room.
        let releaseAfter = engine.producers.releaseAfterMicros
        producers.retireIdle(longerThanMicros: releaseAfter > UInt64.max / 2 ? .max : 2 * releaseAfter)
        for window in windows {
            let started = DispatchTime.now().uptimeNanoseconds
            guard let (sequence, snapshot) = numberedSnapshot(window, symbols: engine.symbols) else { continue }
            var encoded = EncodedSnapshot(sequence: sequence, snapshot: snapshot, bytes: SnapshotCodec.encode(snapshot))
            // Sinks without the index (the file sink, the source of truth) first: the index's
            // evaluation (tens to hundreds of ms for thousands of series) never delays them.
            for sink in sinks where !sink.sink.wantsIndex { sink.enqueue(encoded) }
            if let index, let documents = index.evaluate(snapshot) {
                encoded.index = IndexStage.encode(documents)
                encoded.documents = documents
                for event in documents.first?.alerts.events ?? [] where event.state == "firing" || event.state == "resolved" {
                    logger.warning("alert \(event.state): \(event.alert.name) \(event.alert.scope): \(event.alert.summary); action: \(event.alert.action)")
                }
            }
            for sink in sinks where sink.sink.wantsIndex { sink.enqueue(encoded) }
            let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1_000
            flushLock.withLock {
                $0.lastFlushMicros = micros
                $0.lastSnapshotBytes = UInt64(encoded.bytes.count)
                $0.snapshots += 1
            }
            logger.info("\(SnapshotSummary.line(snapshot, sequence: sequence))")
            onSnapshot?(encoded)
        }
    }
}
