import TallyCore
import TallyWire

/// The frames of a dead run's ingest journal aggregated again, on the calling thread,
/// as that run's engine placed them when they arrived: each batch carries its receive
/// time, so a frame is **late** when its window's seal time (end + allowed lateness) had
/// passed at receipt, and **future** when its event time was beyond receipt + future
/// tolerance — the rules of ``WindowPolicy``, with the receive time as the clock.
/// Frames of windows the run had already stored (`skipping`) are left out: those windows
/// are in the data directory whole. Everything else lands in one table per window
/// (the engine's series cap over all its shards), returned by ``windows()``.
///
/// Memory: the tables of the windows the journal spans (a journal holds about
/// `window + lateness` of traffic), each within the engine's series cap.
final class JournalReplay {
    let configuration: EngineConfiguration
    /// Interned for the replayed windows only; the snapshots are built with it.
    let symbols: SymbolTable
    private let producers = ProducerDirectory()
    private let memory: EngineMemory
    private let resolver: BatchResolver
    private let stored: Set<UInt64>
    private var tables: [UInt64: WindowTable] = [:]

    /// Frames aggregated, and frames left out by reason.
    private(set) var frames: UInt64 = 0
    private(set) var alreadyStored: UInt64 = 0
    private(set) var late: UInt64 = 0
    private(set) var future: UInt64 = 0

    /// - Parameter stored: start (µs) of every window the dead run stored.
    init(configuration: EngineConfiguration, skipping stored: Set<UInt64>) {
        self.configuration = configuration
        self.stored = stored
        symbols = SymbolTable(maxSymbols: configuration.maxSymbols)
        memory = EngineMemory(limitBytes: configuration.memoryLimitBytes, producers: producers)
        resolver = BatchResolver(symbols: symbols, prices: configuration.prices, producers: producers,
                                 tagPolicy: configuration.resolvedTags)
    }

    /// Places every frame of a validated batch received at `receivedMicros` (µs since the epoch).
    func add(_ batch: BatchView, receivedMicros: UInt64) {
        let policy = configuration.window
        resolver.begin(batch, producer: producers.number(of: batch.producerID))
        for frame in batch.frameReferences {
            let record = resolver.record(frame)
            switch policy.place(eventTimeMicros: record.eventTimeMicros, nowMicros: receivedMicros) {
            case .future:
                future &+= 1
            case .late:
                late &+= 1
            case .window(let start):
                if stored.contains(start) {
                    alreadyStored &+= 1
                    continue
                }
                let table = tables[start] ?? WindowTable(
                    startMicros: start, maxSeries: configuration.maxSeriesPerShardWindow * max(1, configuration.shards),
                    sketches: configuration.sketches, producers: producers, memory: memory, symbols: symbols,
                    heavyHitterCapacity: configuration.heavyHitterCapacity,
                    heavyHitterTag: configuration.resolvedTags.heavyHitterKey, cohortSummaries: configuration.cohortSummaries)
                tables[start] = table
                table.add(record)
                frames &+= 1
            }
        }
    }

    /// Every window that took frames, oldest first.
    func windows() -> [SealedWindow] {
        tables.keys.sorted().map {
            SealedWindow(startMicros: $0, intervalMicros: configuration.window.intervalMicros, tables: [tables[$0]!])
        }
    }
}
