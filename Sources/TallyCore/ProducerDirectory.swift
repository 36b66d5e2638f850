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
/// is not counted as active).
///
/// **Released numbers.** A producer idle for ``releaseAfterMicros`` (the horizon, then
/// long enough for every window its frames could reach to seal) is taken out of the
/// directory by ``releaseIdle(nowMicros:keeping:)`` and its number, once the engine has
/// moved what it kept under it (per-producer counts, symbol ownership) to
/// ``unnumbered``, is handed to the next new producer (``recycle(_:)``). So the directory
/// holds the producers of the last few minutes, not every id a restarting fleet ever
/// used: without this, after 4,096 ids (a 100-process fleet restarting a few times a
/// day fills it in about ten days) every new producer shared ``unnumbered``'s one share.
/// A released producer that comes back is a new producer: a new number, counts from 0.
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
    /// How long after its last batch a producer may be released (µs, collector clock;
    /// `UInt64.max`: never).
    public let releaseAfterMicros: UInt64
    /// The release delay the engine uses: the active horizon, then the future tolerance, a
    /// window and its lateness, so that every window a producer's last frame could reach
    /// (stamped up to the tolerance ahead) has sealed before its number is released.
    public static func releaseAfter(for window: WindowPolicy) -> UInt64 {
        activeHorizon(for: window) &+ window.futureToleranceMicros &+ window.intervalMicros &+ window.allowedLatenessMicros
    }

    /// A producer taken out of the directory by ``releaseIdle(nowMicros:keeping:)``.
    public struct Released: Sendable, Equatable {
        public let number: UInt32
        public let producer: UInt64
    }

    private struct State {
        var numbers: [UInt64: UInt32] = [:]
        var ids: [UInt64] = [0]  // ids[n]: the producer id of number n
        var lastSeenMicros: [UInt64] = [0]  // by number: the last batch (0: none yet)
        var counted: [Bool] = [false]  // by number: counted in `active`
        var active = 0
        /// Numbers released and recycled (``recycle(_:)``), handed out before new ones.
        var free: [UInt32] = []
    }
    private let state = Mutex(State())
    private let numbered = Atomic<Int>(0)
    private let activeNow = Atomic<Int>(0)

    public init(capacity: Int = 4_096, activeHorizonMicros: UInt64 = 60_000_000, releaseAfterMicros: UInt64 = .max) {
        self.capacity = capacity
        self.activeHorizonMicros = activeHorizonMicros
        self.releaseAfterMicros = max(releaseAfterMicros, activeHorizonMicros)
    }

    /// The number of `producer`, whose batch came at `nowMicros` (the collector's clock),
    /// numbering it when new and there is room; it is active from then (``touch(_:of:nowMicros:)``).
    public func number(of producer: UInt64, nowMicros: UInt64 = 0) -> UInt32 {
        if producer == 0 { return ProducerDirectory.unnumbered }
        return state.withLock { state in
            if let n = state.numbers[producer] {
                Self.seen(n, nowMicros, &state)
                activeNow.store(state.active, ordering: .relaxed)
                return n
            }
            let n: UInt32
            if let reused = state.free.popLast() {
                n = reused
                state.ids[Int(n)] = producer
                state.lastSeenMicros[Int(n)] = nowMicros
                state.counted[Int(n)] = true
            } else {
                guard state.ids.count <= capacity else { return ProducerDirectory.unnumbered }
                n = UInt32(state.ids.count)
                state.ids.append(producer)
                state.lastSeenMicros.append(nowMicros)
                state.counted.append(true)
            }
            state.numbers[producer] = n
            state.active += 1
            activeNow.store(state.active, ordering: .relaxed)
            numbered.store(state.numbers.count, ordering: .relaxed)
            return n
        }
    }

    /// Notes a batch of `producer`, numbered `number`, at `nowMicros`: it is active (again).
    /// False when `number` is no longer `producer`'s (released since it was looked up):
    /// the caller looks the producer up again with ``number(of:nowMicros:)``.
    @discardableResult
    public func touch(_ number: UInt32, of producer: UInt64, nowMicros: UInt64) -> Bool {
        if number == ProducerDirectory.unnumbered {
            // Still without a number, unless there is room now (numbers were recycled).
            return producer == 0 || state.withLock { $0.free.isEmpty && $0.ids.count > capacity }
        }
        return state.withLock { state in
            guard Int(number) < state.ids.count, state.ids[Int(number)] == producer else { return false }
            Self.seen(number, nowMicros, &state)
            activeNow.store(state.active, ordering: .relaxed)
            return true
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
            for n in 1..<state.ids.count where state.ids[n] != 0 {
                let seen = state.lastSeenMicros[n]
                let idle = nowMicros > seen && nowMicros - seen > activeHorizonMicros
                state.counted[n] = !idle
                if !idle { active += 1 }
            }
            state.active = active
            activeNow.store(active, ordering: .relaxed)
        }
    }

    /// Takes out of the directory every producer whose last batch is more than
    /// ``releaseAfterMicros`` before `nowMicros`, except those whose number is in `keeping`
    /// (it still holds window-table bytes: a later pass takes it). A batch of a released
    /// producer gets a new number from now on; the released numbers are not handed out
    /// again until ``recycle(_:)``. A pass over the numbered producers (at most ``capacity``).
    public func releaseIdle(nowMicros: UInt64, keeping: Set<UInt32> = []) -> [Released] {
        guard releaseAfterMicros != .max else { return [] }
        return state.withLock { state in
            var released: [Released] = []
            for n in 1..<state.ids.count where state.ids[n] != 0 && !keeping.contains(UInt32(n)) {
                let seen = state.lastSeenMicros[n]
                guard nowMicros > seen && nowMicros - seen > releaseAfterMicros else { continue }
                released.append(Released(number: UInt32(n), producer: state.ids[n]))
                state.numbers[state.ids[n]] = nil
                state.ids[n] = 0
                state.lastSeenMicros[n] = 0
                if state.counted[n] { state.active -= 1 }
                state.counted[n] = false
            }
            if !released.isEmpty {
                activeNow.store(state.active, ordering: .relaxed)
                numbered.store(state.numbers.count, ordering: .relaxed)
            }
            return released
        }
    }

    /// Hands released numbers (``releaseIdle(nowMicros:keeping:)``) back out, to the next
    /// new producers: call once nothing is kept under them any more.
    public func recycle(_ numbers: [UInt32]) {
        state.withLock { state in
            var free = Set(state.free)  // a number handed back twice would go to two producers
            for n in numbers where Int(n) < state.ids.count && n != ProducerDirectory.unnumbered && state.ids[Int(n)] == 0
                && free.insert(n).inserted {
                state.free.append(n)
            }
        }
    }

    /// The producer id of `number` (0 for ``unnumbered`` or an unknown number).
    public func producerID(of number: UInt32) -> UInt64 {
        state.withLock { Int(number) < $0.ids.count ? $0.ids[Int(number)] : 0 }
    }

    /// Producers numbered now (released ones no longer count; at most ``capacity``).
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
