import Synchronization

/// Numbers the producers an engine hears from (the `producer_id` of each batch header)
/// densely from 1, so that a window table can keep per-producer shares of its series cap
/// in a flat array and the engine can count folds per producer; and says how many of them
/// are **active**, the divisor of every fair share (a window's series cap, the window
/// tables' memory, the symbol table).
///
/// A producer is active from the batch that numbered it until ``activeHorizonMicros``
/// after its last batch (on the collector's clock). Shares divide by the producers active,
/// not by every producer ever numbered: `TallyClient` takes a new random producer id at
/// each process start unless configured, so in a fleet whose processes restart the
/// producers ever heard from grow without end, and shares divided by them shrank towards
/// nothing, folding every producer's new series past the first-come half. A producer that
/// comes back after the horizon counts again from its first batch.
///
/// Looked up once per batch (an ``IngestPort`` remembers its last producer, so a
/// connection that carries one producer takes the lock once, and tells the directory it
/// is still there at most once a second), never per frame. Holds at most ``capacity``
/// producers; later ones, and producer id 0 (a `BatchEncoder` given no id), share number
/// ``unnumbered``, and so share one fair share of a window's series cap (``unnumbered``
/// is not counted as active). Numbers are never reused, so per-producer counters stay
/// with their producer id.
public final class ProducerDirectory: Sendable {
    /// The number of producer id 0 and of producers past ``capacity``.
    public static let unnumbered: UInt32 = 0
    public let capacity: Int
    /// How long a producer counts as active after its last batch (µs, collector clock).
    public let activeHorizonMicros: UInt64
    /// The horizon the engine uses: a minute, or two windows and their lateness if longer,
    /// so that a producer with a series in an open window is always active.
    public static func activeHorizon(for window: WindowPolicy) -> UInt64 {
        max(60_000_000, 2 &* (window.intervalMicros &+ window.allowedLatenessMicros))
    }

    private struct State {
        var numbers: [UInt64: UInt32] = [:]
        var ids: [UInt64] = [0]  // ids[n]: the producer id of number n
        var lastSeenMicros: [UInt64] = [0]  // by number: the last batch (0: none yet)
        var counted: [Bool] = [false]  // by number: counted in `active`
        var active = 0
    }
    private let state = Mutex(State())
    private let numbered = Atomic<Int>(0)
    private let activeNow = Atomic<Int>(0)

    public init(capacity: Int = 4_096, activeHorizonMicros: UInt64 = 60_000_000) {
        self.capacity = capacity
        self.activeHorizonMicros = activeHorizonMicros
    }

    /// The number of `producer`, whose batch came at `nowMicros` (the collector's clock),
    /// numbering it when new and there is room; it is active from then (``touch(_:nowMicros:)``).
    public func number(of producer: UInt64, nowMicros: UInt64 = 0) -> UInt32 {
        if producer == 0 { return ProducerDirectory.unnumbered }
        return state.withLock { state in
            if let n = state.numbers[producer] {
                Self.seen(n, nowMicros, &state)
                activeNow.store(state.active, ordering: .relaxed)
                return n
            }
            guard state.ids.count <= capacity else { return ProducerDirectory.unnumbered }
            let n = UInt32(state.ids.count)
            state.numbers[producer] = n
            state.ids.append(producer)
            state.lastSeenMicros.append(nowMicros)
            state.counted.append(true)
            state.active += 1
            activeNow.store(state.active, ordering: .relaxed)
            numbered.store(state.ids.count - 1, ordering: .relaxed)
            return n
        }
    }

    /// Notes a batch of producer `number` at `nowMicros`: it is active (again).
    public func touch(_ number: UInt32, nowMicros: UInt64) {
        if number == ProducerDirectory.unnumbered { return }
        state.withLock { state in
            guard Int(number) < state.ids.count else { return }
            Self.seen(number, nowMicros, &state)
            activeNow.store(state.active, ordering: .relaxed)
        }
    }

    private static func seen(_ number: UInt32, _ nowMicros: UInt64, _ state: inout State) {
        let n = Int(number)
        state.lastSeenMicros[n] = max(state.lastSeenMicros[n], nowMicros)
        if !state.counted[n] {
            state.counted[n] = true
            state.active += 1
        }
    }

    /// Stops counting producers whose last batch is more than ``activeHorizonMicros``
    /// before `nowMicros` (the engine calls it at each ``AggregationEngine/collectSealedWindows()``;
    /// a pass over the numbered producers, at most ``capacity``).
    public func retireIdle(nowMicros: UInt64) {
        state.withLock { state in
            var active = 0
            for n in 1..<state.ids.count {
                let seen = state.lastSeenMicros[n]
                let idle = nowMicros > seen && nowMicros - seen > activeHorizonMicros
                state.counted[n] = !idle
                if !idle { active += 1 }
            }
            state.active = active
            activeNow.store(active, ordering: .relaxed)
        }
    }

    /// The producer id of `number` (0 for ``unnumbered`` or an unknown number).
    public func producerID(of number: UInt32) -> UInt64 {
        state.withLock { Int(number) < $0.ids.count ? $0.ids[Int(number)] : 0 }
    }

    /// Producers numbered so far (never decreases: a fleet whose producers take a new id
    /// at every restart counts each; bounded by ``capacity``).
    public var count: Int { numbered.load(ordering: .relaxed) }

    /// Producers active now (see the type's comment): the fair shares' divisor.
    public var active: Int { activeNow.load(ordering: .relaxed) }

    /// One producer's fair share of `bound` (series, bytes or symbols), as every shared bound
    /// computes it: the bound ÷ the producers holding part of it (`holders`, the asking one
    /// included) or ÷ the producers ``active`` now, whichever is more; at least 1.
    public static func fairShare(of bound: Int, holders: Int, active: Int) -> Int {
        max(1, bound / max(1, holders, active))
    }
}
