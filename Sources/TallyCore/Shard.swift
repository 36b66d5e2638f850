import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard: a single writer thread that drains its rings (one per ingest port),
/// places each record in its window, folds it into that window's table, and seals
/// windows whose time has come by moving their tables to ``mailbox`` (a lock taken
/// once per sealed window, never per frame).
final class Shard: @unchecked Sendable {
    let index: Int
    let configuration: EngineConfiguration
    let clock: @Sendable () -> UInt64
    let producers: ProducerDirectory
    let memory: EngineMemory

    /// Rings from the ingest ports; grown under `portsLock` when a port registers.
    private let portsLock = Mutex<[SPSCRing<FrameRecord>]>([])
    /// Sealed tables waiting for the flusher.
    let mailbox = Mutex<[WindowTable]>([])
    /// The collector time up to which this shard has sealed every due window.
    let sealedClock = Atomic<UInt64>(0)
    let stopping = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)

    // Counters published by the shard thread.
    let aggregated = Atomic<UInt64>(0)
    let late = Atomic<UInt64>(0)
    let future = Atomic<UInt64>(0)
    /// Frames folded into overflow series, added when their window is sealed.
    let folded = Atomic<UInt64>(0)
    /// Of those, frames folded because ``EngineMemory`` had no room.
    let foldedForMemory = Atomic<UInt64>(0)
    let histogramsRefused = Atomic<UInt64>(0)
    /// Frames whose cohort aggregate was refused (``WindowTable/cohortsRefused``), per sealed window.
    let cohortsRefused = Atomic<UInt64>(0)
    /// Frames whose slice's heavy hitters were refused (``WindowTable/heavyHittersRefused``), per sealed window.
    let heavyHittersRefused = Atomic<UInt64>(0)
    /// The same by producer number (``ProducerDirectory``), merged once per sealed window.
    let foldedByProducer = Mutex<[UInt32: UInt64]>([:])
    /// ``late`` and ``future`` by producer number, merged once per pass that had any (the
    /// shard thread counts them in its own dictionaries, touched only on those rare paths;
    /// at most one entry a producer number, so bounded by the ``ProducerDirectory``).
    let lateByProducer = Mutex<[UInt32: UInt64]>([:])
    let futureByProducer = Mutex<[UInt32: UInt64]>([:])
    let sealedTables = Atomic<UInt64>(0)
    /// Passes of the shard's loop completed (each drains its rings once and places what it
    /// popped); ``SymbolReclaimer`` waits for one to know popped records are in tables.
    let passes = Atomic<UInt64>(0)
    /// Leases new window tables take on the symbols they will hold.
    let symbols: SymbolTable?

    init(index: Int, configuration: EngineConfiguration, producers: ProducerDirectory, memory: EngineMemory,
         symbols: SymbolTable? = nil, clock: @escaping @Sendable () -> UInt64) {
        self.index = index
        self.symbols = symbols
        self.producers = producers
        self.memory = memory
        self.configuration = configuration
        self.clock = clock
    }

    /// Moves the folded, late and future counts of producer `numbers` (released from the
    /// ``ProducerDirectory``) to number `other`, so that each released number starts from 0.
    func moveProducerCounts(of numbers: Set<UInt32>, to other: UInt32) {
        func move(_ counts: borrowing Mutex<[UInt32: UInt64]>) {
            counts.withLock { byProducer in
                for number in numbers {
                    if let frames = byProducer.removeValue(forKey: number) { byProducer[other, default: 0] &+= frames }
                }
            }
        }
        move(foldedByProducer)
        move(lateByProducer)
        move(futureByProducer)
    }

    func addRing(_ ring: SPSCRing<FrameRecord>) {
        portsLock.withLock { $0.append(ring) }
    }

    /// The shard thread's loop; returns after `stopping` once every ring is empty
    /// and every window is sealed.
    func run() {
        var open: [UInt64: WindowTable] = [:]
        // The table the last record went to, and its start (UInt64.max: none). Unowned:
        // `open` holds it, and a strong local here cost a retain and release per frame.
        var current: Unmanaged<WindowTable>? = nil
        var currentStart = UInt64.max
        var currentSeal: UInt64 = 0  // when the current window seals (collector clock)
        var sealedThrough: UInt64? = nil  // start of the newest sealed window
        let policy = configuration.window
        var rings: [SPSCRing<FrameRecord>] = []
        var idleMicros = Shard.minIdleMicros
        var lateBy: [UInt32: UInt64] = [:], futureBy: [UInt32: UInt64] = [:]
        while true {
            rings = portsLock.withLock { $0 }
            var now = clock()
            var taken = 0
            var aggregatedHere: UInt64 = 0, lateHere: UInt64 = 0, futureHere: UInt64 = 0
            for ring in rings {
                var budget = 4_096
                // Each record is read where it sits in the ring (no 168-byte copy out of it)
                // and its slot handed back once it is folded.
                while budget > 0, let record = ring.front() {
                    defer { ring.dropFront() }
                    budget -= 1
                    taken += 1
                    // The common case without a division: the record is in the current
                    // window, which is still open and not in the future.
                    if record.pointee.eventTimeMicros &- currentStart < policy.intervalMicros, now < currentSeal,
                       record.pointee.eventTimeMicros <= now &+ policy.futureToleranceMicros, let table = current {
                        table._withUnsafeGuaranteedRef { $0.add(at: record) }
                        aggregatedHere &+= 1
                        continue
                    }
                    switch policy.place(eventTimeMicros: record.pointee.eventTimeMicros, nowMicros: now) {
                    case .future:
                        futureHere &+= 1
                        futureBy[record.pointee.producer, default: 0] &+= 1
                    case .late:
                        lateHere &+= 1
                        lateBy[record.pointee.producer, default: 0] &+= 1
                    case .window(let start):
                        if start == currentStart, let table = current {
                            table._withUnsafeGuaranteedRef { $0.add(at: record) }  // the common case: no lookup
                            aggregatedHere &+= 1
                            continue
                        }
                        if let sealed = sealedThrough, start <= sealed {
                            lateHere &+= 1
                            lateBy[record.pointee.producer, default: 0] &+= 1
                            continue
                        }
                        let table = open[start] ?? WindowTable(startMicros: start,
                                                               maxSeries: configuration.maxSeriesPerShardWindow,
                                                               sketches: configuration.sketches,
                                                               producers: producers, memory: memory,
                                                               symbols: symbols,
                                                               heavyHitterCapacity: configuration.heavyHitterCapacity,
                                                               heavyHitterTag: configuration.resolvedTags.heavyHitterKey,
                                                               cohortSummaries: configuration.cohortSummaries,
                                                               cohortCategories: configuration.cohortCategories)
                        open[start] = table
                        current = Unmanaged.passUnretained(table)
                        currentStart = start
                        currentSeal = policy.sealTime(ofWindowStarting: start)
                        table.add(at: record)
                        aggregatedHere &+= 1
                    }
                }
            }
            aggregated.add(aggregatedHere, ordering: .relaxed)
            late.add(lateHere, ordering: .relaxed)
            future.add(futureHere, ordering: .relaxed)
            if lateHere > 0 {
                lateByProducer.withLock { byProducer in
                    for (producer, frames) in lateBy { byProducer[producer, default: 0] &+= frames }
                }
                lateBy.removeAll(keepingCapacity: true)
            }
            if futureHere > 0 {
                futureByProducer.withLock { byProducer in
                    for (producer, frames) in futureBy { byProducer[producer, default: 0] &+= frames }
                }
                futureBy.removeAll(keepingCapacity: true)
            }

            let stop = stopping.load(ordering: .acquiring)
            let drained = taken == 0 && rings.allSatisfy { $0.count == 0 }
            if stop && drained {
                // Final flush: seal every open window, whatever its time.
                now = UInt64.max
            } else {
                now = clock()
            }
            if open.keys.contains(where: { policy.sealTime(ofWindowStarting: $0) <= now }) {
                let due = open.keys.filter { policy.sealTime(ofWindowStarting: $0) <= now }.sorted()
                let tables = due.map { open.removeValue(forKey: $0)! }
                if open[currentStart] == nil {
                    current = nil
                    currentStart = .max
                    currentSeal = 0
                }
                folded.add(tables.reduce(0) { $0 + $1.foldedFrames }, ordering: .relaxed)
                foldedForMemory.add(tables.reduce(0) { $0 + $1.foldedForMemory }, ordering: .relaxed)
                histogramsRefused.add(tables.reduce(0) { $0 + $1.histogramsRefused }, ordering: .relaxed)
                cohortsRefused.add(tables.reduce(0) { $0 + $1.cohortsRefused }, ordering: .relaxed)
                heavyHittersRefused.add(tables.reduce(0) { $0 + $1.heavyHittersRefused }, ordering: .relaxed)
                if tables.contains(where: { $0.foldedFrames > 0 }) {
                    foldedByProducer.withLock { byProducer in
                        for table in tables {
                            for (producer, frames) in table.foldedFramesByProducer { byProducer[producer, default: 0] &+= frames }
                        }
                    }
                }
                mailbox.withLock { $0.append(contentsOf: tables) }
                sealedTables.add(UInt64(tables.count), ordering: .relaxed)
                sealedThrough = max(sealedThrough ?? 0, due.last!)
            }
            sealedClock.store(now, ordering: .releasing)
            passes.store(passes.load(ordering: .relaxed) &+ 1, ordering: .releasing)  // one writer: this thread
            if stop && drained {
                finished.store(true, ordering: .releasing)
                return
            }
            // Idle: sleep, longer the longer nothing comes (100 µs doubling to 2 ms, a sixth
            // of what a ring holds at full rate). A fixed 200 µs kept an idle collector at
            // 15–30 % of a core in wake-ups.
            if taken == 0 {
                usleep(idleMicros)
                idleMicros = min(idleMicros * 2, Shard.maxIdleMicros)
            } else {
                idleMicros = Shard.minIdleMicros
            }
        }
    }

    /// The first and the longest sleep of an idle shard (µs).
    static let minIdleMicros: UInt32 = 100
    static let maxIdleMicros: UInt32 = 2_000
}
