import Dispatch
import Synchronization
import TallyWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sharded aggregation core: ingest ports route each frame by its series
/// key to one of N single-writer shards through lock-free SPSC rings; shards fold
/// frames into per-window tables and seal windows on the collector's clock; the
/// flusher collects sealed windows with ``collectSealedWindows()``.
///
/// No lock is taken per frame: a frame crosses exactly one SPSC ring, and only its
/// shard's thread touches its series. Every frame given to an ingest port is either
/// aggregated into exactly one sealed window or counted as dropped by reason
/// (``EngineCounters``).
public final class AggregationEngine: @unchecked Sendable {
    public let configuration: EngineConfiguration
    public let symbols: SymbolTable
    /// The producers heard from, numbered for the fair shares, and which of them are active.
    public let producers: ProducerDirectory
    /// The collector's clock (µs since the Unix epoch).
    let clock: @Sendable () -> UInt64
    /// What the window tables hold, against ``EngineConfiguration/memoryLimitBytes``.
    public let memory: EngineMemory
    let shards: [Shard]
    private let group = DispatchGroup()
    private let ports = Mutex<[IngestPort]>([])
    /// Frees symbols nothing refers to any more, a step per ``collectSealedWindows()``.
    private let reclaimer: SymbolReclaimer
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    /// Producer ids released from ``producers`` and not yet taken by ``takeReleasedProducers()``
    /// (at most the directory's capacity; the oldest go first).
    private let releasedProducers = Mutex<[UInt64]>([])

    /// - Parameter clock: the collector's clock, µs since the Unix epoch (injectable for tests).
    /// - Parameter symbols: the table to intern into (nil: a new one of
    ///   ``EngineConfiguration/maxSymbols``).
    public init(configuration: EngineConfiguration = EngineConfiguration(), symbols: SymbolTable? = nil,
                clock: @escaping @Sendable () -> UInt64 = AggregationEngine.wallClockMicros) {
        self.configuration = configuration
        let symbols = symbols ?? SymbolTable(maxSymbols: configuration.maxSymbols)
        self.symbols = symbols
        self.clock = clock
        let producers = ProducerDirectory(activeHorizonMicros: ProducerDirectory.activeHorizon(for: configuration.window),
                                          releaseAfterMicros: ProducerDirectory.releaseAfter(for: configuration.window))
        self.producers = producers
        let memory = EngineMemory(limitBytes: configuration.memoryLimitBytes, producers: producers)
        self.memory = memory
        let shards = (0..<max(1, configuration.shards)).map {
            Shard(index: $0, configuration: configuration, producers: producers, memory: memory, symbols: symbols,
                  clock: clock)
        }
        self.shards = shards
        reclaimer = SymbolReclaimer(symbols: symbols, shards: shards)
    }

    /// Wall-clock time in µs since the Unix epoch.
    public static let wallClockMicros: @Sendable () -> UInt64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }

    /// A port for one ingest thread (its rings to every shard). Ports may be made
    /// before or after ``start()``.
    public func makeIngestPort() -> IngestPort {
        let rings = shards.map { _ in SPSCRing<FrameRecord>(capacity: configuration.ringCapacity) }
        for (shard, ring) in zip(shards, rings) { shard.addRing(ring) }
        let port = IngestPort(engine: self, rings: rings)
        ports.withLock { $0.append(port) }
        return port
    }

    /// Starts one thread per shard.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for shard in shards {
            DispatchQueue(label: "tally.shard.\(shard.index)").async(group: group) { shard.run() }
        }
    }

    /// Stops the shards after they drain their rings and seal every open window
    /// (the open window is flushed, never lost). Call it once the ingest threads
    /// have stopped calling ``IngestPort/ingest(_:)``; ports count later frames as `stopped`.
    /// Waits at most `timeoutMillis`; returns whether every shard finished.
    @discardableResult
    public func stop(timeoutMillis: Int = 10_000) -> Bool {
        stopped.store(true, ordering: .releasing)
        for shard in shards { shard.stopping.store(true, ordering: .releasing) }
        if !started.load(ordering: .acquiring) { start() }
        return group.wait(timeout: .now() + .milliseconds(timeoutMillis)) == .success
    }

    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// The collector-clock time (µs) through which every shard has sealed: every window
    /// whose seal time is at most this is returned by the next ``collectSealedWindows()``
    /// if not by an earlier one.
    public var sealedThroughMicros: UInt64 { shards.map { $0.sealedClock.load(ordering: .acquiring) }.min() ?? 0 }

    /// Windows every shard has sealed, oldest first, each with the tables of the
    /// shards that saw traffic in it. Call from one flusher thread.
    /// Also advances the release of unused symbols (``SymbolReclaimer``): windows
    /// returned by an earlier call hold their symbols until they are freed.
    public func collectSealedWindows() -> [SealedWindow] {
        reclaimer.step(ports: ports.withLock { $0 })
        let now = clock()
        producers.retireIdle(nowMicros: now)
        let through = shards.map { $0.sealedClock.load(ordering: .acquiring) }.min() ?? 0
        // Against the time every shard has sealed through, not the clock: a shard merges a
        // sealed window's folds by producer number before it publishes that time. Never past
        // the clock: a stopping shard seals through the end of time.
        releaseIdleProducers(nowMicros: min(through, now))
        var byStart: [UInt64: [WindowTable]] = [:]
        for shard in shards {
            shard.mailbox.withLock { tables in
                var keep: [WindowTable] = []
                for table in tables {
                    if configuration.window.sealTime(ofWindowStarting: table.startMicros) <= through {
                        byStart[table.startMicros, default: []].append(table)
                    } else {
                        keep.append(table)
                    }
                }
                tables = keep
            }
        }
        return byStart.keys.sorted().map { SealedWindow(startMicros: $0, intervalMicros: configuration.window.intervalMicros,
                                                        tables: byStart[$0]!) }
    }

    /// Releases the producers idle past the directory's release delay
    /// (``ProducerDirectory/releaseIdle(nowMicros:keeping:)``) and recycles their numbers
    /// once what the engine kept under them is moved to ``ProducerDirectory/unnumbered``: the
    /// shards' folded, late and future counts (reported from then on under producer id 0,
    /// the snapshots' `producer.other`) and their symbols' ownership. A producer whose
    /// number still holds window-table bytes (a sealed window not yet flushed) waits for a
    /// later pass, so no table gives back bytes under a number someone else holds.
    func releaseIdleProducers(nowMicros: UInt64) {
        let holding = Set(memory.bytesByProducer.keys.map { UInt32(truncatingIfNeeded: $0) })
        let released = producers.releaseIdle(nowMicros: nowMicros, keeping: holding)
        guard !released.isEmpty else { return }
        let numbers = Set(released.map(\.number))
        for shard in shards { shard.moveProducerCounts(of: numbers, to: ProducerDirectory.unnumbered) }
        symbols.disown(numbers)
        producers.recycle(released.map(\.number))
        let bound = producers.capacity
        releasedProducers.withLock { ids in
            ids.append(contentsOf: released.map(\.producer))
            if ids.count > bound { ids.removeFirst(ids.count - bound) }
        }
    }

    /// The producer ids released since the last call (oldest first; at most the
    /// directory's capacity): their per-producer counts are now under producer id 0, and a
    /// batch of one of them starts it afresh. The collector drops them from its ledger.
    public func takeReleasedProducers() -> [UInt64] {
        releasedProducers.withLock { ids in
            defer { ids.removeAll() }
            return ids
        }
    }

    /// The engine's counters, summed over ports and shards.
    public var counters: EngineCounters {
        var c = EngineCounters()
        for port in ports.withLock({ $0 }) {
            let p = port.counters
            c.accepted &+= p.accepted
            for i in c.dropped.indices { c.dropped[i] &+= p.dropped[i] }
            c.tagsDropped &+= p.tagsDropped
        }
        c.aggregatedPerShard = shards.map { $0.aggregated.load(ordering: .acquiring) }
        c.dropped[EngineDropReason.late.rawValue] &+= shards.reduce(0) { $0 + $1.late.load(ordering: .acquiring) }
        c.dropped[EngineDropReason.future.rawValue] &+= shards.reduce(0) { $0 + $1.future.load(ordering: .acquiring) }
        c.folded = shards.reduce(0) { $0 + $1.folded.load(ordering: .acquiring) }
        c.foldedForMemory = shards.reduce(0) { $0 + $1.foldedForMemory.load(ordering: .acquiring) }
        c.histogramsRefused = shards.reduce(0) { $0 + $1.histogramsRefused.load(ordering: .acquiring) }
        c.cohortsRefused = shards.reduce(0) { $0 + $1.cohortsRefused.load(ordering: .acquiring) }
        c.heavyHittersRefused = shards.reduce(0) { $0 + $1.heavyHittersRefused.load(ordering: .acquiring) }
        c.producersActive = UInt64(producers.active)
        c.memoryBytes = UInt64(max(0, memory.usedBytes))
        c.memoryLimitBytes = memory.limitBytes == .max ? 0 : UInt64(memory.limitBytes)
        for (number, bytes) in memory.bytesByProducer {
            c.memoryBytesByProducer[producers.producerID(of: UInt32(number)), default: 0] &+= UInt64(bytes)
        }
        for shard in shards {
            for (number, frames) in shard.foldedByProducer.withLock({ $0 }) {
                c.foldedByProducer[producers.producerID(of: number), default: 0] &+= frames
            }
            for (number, frames) in shard.lateByProducer.withLock({ $0 }) {
                c.lateByProducer[producers.producerID(of: number), default: 0] &+= frames
            }
            for (number, frames) in shard.futureByProducer.withLock({ $0 }) {
                c.futureByProducer[producers.producerID(of: number), default: 0] &+= frames
            }
        }
        c.sealedTables = shards.reduce(0) { $0 + $1.sealedTables.load(ordering: .acquiring) }
        c.symbolsInterned = UInt64(symbols.count)
        c.symbolsOverflowed = symbols.overflowed
        c.symbolsReleased = symbols.released
        return c
    }
}

/// One window as every shard sealed it: the tables of the shards that had traffic
/// (their series are disjoint, except each shard's overflow series).
public struct SealedWindow: Sendable {
    public let startMicros: UInt64
    public let intervalMicros: UInt64
    public let tables: [WindowTable]

    /// A window made of `tables` (the engine seals its own; benchmarks and tools build one).
    public init(startMicros: UInt64, intervalMicros: UInt64, tables: [WindowTable]) {
        self.startMicros = startMicros
        self.intervalMicros = intervalMicros
        self.tables = tables
    }

    public var frames: UInt64 { tables.reduce(0) { $0 + $1.frames } }
}

/// An ingest thread's way into the engine: resolves each frame of a decoded batch
/// and pushes it to its shard's ring. One thread uses a port at a time. A port
/// refers to its engine without keeping it alive (the engine keeps its ports):
/// use it only while the engine exists.
public final class IngestPort: @unchecked Sendable {
    unowned let engine: AggregationEngine
    let rings: [SPSCRing<FrameRecord>]
    /// The same rings, used per frame without retain/release (``rings`` keeps them alive).
    private let unretainedRings: [Unmanaged<SPSCRing<FrameRecord>>]
    let resolver: BatchResolver
    private let state = Mutex(PortCounters())
    /// The last batch's producer id and its ``ProducerDirectory`` number (a connection
    /// usually carries one producer: the directory's lock is taken when it changes).
    private var lastProducer: (id: UInt64, number: UInt32) = (0, ProducerDirectory.unnumbered)
    /// When this port last told the directory its producer was active (collector clock, µs).
    private var lastTouchMicros: UInt64 = 0
    /// Batches begun plus batches finished: odd while a batch is being resolved
    /// (``SymbolReclaimer`` waits for the batch in progress when a generation ends).
    private let batchesBegunAndEnded = Atomic<UInt64>(0)
    var batchCount: UInt64 { batchesBegunAndEnded.load(ordering: .acquiring) }

    struct PortCounters {
        var accepted: UInt64 = 0
        var dropped = [UInt64](repeating: 0, count: EngineDropReason.allCases.count)
        var tagsDropped: UInt64 = 0
    }

    init(engine: AggregationEngine, rings: [SPSCRing<FrameRecord>]) {
        self.engine = engine
        self.rings = rings
        unretainedRings = rings.map { Unmanaged.passUnretained($0) }
        resolver = BatchResolver(symbols: engine.symbols, prices: engine.configuration.prices, producers: engine.producers,
                                 tagPolicy: engine.configuration.resolvedTags)
    }

    /// Routes every frame of a validated batch; never blocks longer than the
    /// back-pressure policy allows per frame. Returns how many of its frames the port
    /// dropped (ring full, or the engine stopped), so callers can account per producer.
    @discardableResult
    public func ingest(_ batch: BatchView) -> UInt64 {
        var accepted: UInt64 = 0
        var newestEvent: UInt64 = 0
        defer { lastBatchNewestEventMicros = newestEvent }
        var dropped = [UInt64](repeating: 0, count: EngineDropReason.allCases.count)
        if engine.isStopped {
            state.withLock {
                $0.accepted &+= UInt64(batch.frameCount)
                $0.dropped[EngineDropReason.stopped.rawValue] &+= UInt64(batch.frameCount)
            }
            return UInt64(batch.frameCount)
        }
        // The directory's lock: when the producer changes, and once a second (its activity).
        let now = engine.clock()
        if batch.producerID != lastProducer.id {
            lastProducer = (batch.producerID, engine.producers.number(of: batch.producerID, nowMicros: now))
            lastTouchMicros = now
        } else if now < lastTouchMicros || now - lastTouchMicros >= 1_000_000 {
            if !engine.producers.touch(lastProducer.number, of: batch.producerID, nowMicros: now) {
                // Released while idle (or room for an unnumbered one): a new number.
                lastProducer.number = engine.producers.number(of: batch.producerID, nowMicros: now)
            }
            lastTouchMicros = now
        }
        // One writer (this thread): a load and a store, no read-modify-write.
        batchesBegunAndEnded.store(batchesBegunAndEnded.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        defer { batchesBegunAndEnded.store(batchesBegunAndEnded.load(ordering: .relaxed) &+ 1, ordering: .releasing) }
        resolver.begin(batch, producer: lastProducer.number)
        let shardCount = UInt64(rings.count)
        for frame in batch.frameReferences {
            accepted &+= 1
            let record = resolver.record(frame)
            newestEvent = max(newestEvent, record.eventTimeMicros)
            // The shard: the high word of hash × shards (Lemire's multiply-shift range
            // reduction), one multiplication where `%` was a 64-bit division per frame.
            let ring = unretainedRings[Int(record.routingHash.multipliedFullWidth(by: shardCount).high)]
            if ring._withUnsafeGuaranteedRef({ $0.push(record) }) { continue }
            switch engine.configuration.backPressure {
            case .drop:
                dropped[EngineDropReason.ringFull.rawValue] &+= 1
            case .wait(let maxMicros):
                // Yield once (a shard on this CPU runs at once), then sleep: a full ring holds
                // milliseconds of the shard's work, so there is no hurry, and spinning on
                // `sched_yield` burnt ~15 % of a core under closed-loop load, CPU that the shards
                // and producers on the same cores needed.
                let deadline = AggregationEngine.wallClockMicros() &+ maxMicros
                var pushed = false, attempts = 0
                while !pushed && AggregationEngine.wallClockMicros() < deadline {
                    if attempts == 0 { sched_yield() } else { usleep(IngestPort.ringFullSleepMicros) }
                    attempts &+= 1
                    pushed = ring._withUnsafeGuaranteedRef { $0.push(record) }
                }
                if !pushed { dropped[EngineDropReason.ringFullTimeout.rawValue] &+= 1 }
            }
        }
        let tagsDropped = resolver.takeDroppedTags()
        state.withLock {
            $0.accepted &+= accepted
            for i in dropped.indices { $0.dropped[i] &+= dropped[i] }
            $0.tagsDropped &+= tagsDropped
        }
        return dropped.reduce(0, &+)
    }

    var counters: PortCounters { state.withLock { $0 } }

    /// The newest event time (µs) among the frames of the last batch ``ingest(_:)`` took
    /// (0 before the first): the ingest journal keeps a segment until that window is stored.
    /// Read it on the ingest thread, after `ingest`.
    public private(set) var lastBatchNewestEventMicros: UInt64 = 0

    /// How long the ingest thread sleeps between tries when a shard's ring is full (µs);
    /// a full ring of the default 16,384 records is ~10 ms of a shard's work.
    static let ringFullSleepMicros: UInt32 = 200
}
