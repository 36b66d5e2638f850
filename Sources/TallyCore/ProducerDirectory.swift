import Synchronization

/// Numbers the producers an engine hears from (the `producer_id` of each batch header)
/// densely from 1, so that a window table can keep per-producer shares of its series cap
/// in a flat array and the engine can count folds per producer.
///
/// Looked up once per batch (an ``IngestPort`` remembers its last producer, so a
/// connection that carries one producer takes the lock once), never per frame. Holds at
/// most ``capacity`` producers; later ones, and producer id 0 (a `BatchEncoder` given no
/// id), share number ``unnumbered``, and so share one fair share of a window's series cap.
public final class ProducerDirectory: Sendable {
    /// The number of producer id 0 and of producers past ``capacity``.
    public static let unnumbered: UInt32 = 0
    public let capacity: Int

    private struct State {
        var numbers: [UInt64: UInt32] = [:]
        var ids: [UInt64] = [0]  // ids[n]: the producer id of number n
    }
    private let state = Mutex(State())
    private let numbered = Atomic<Int>(0)

    public init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    /// The number of `producer`, numbering it when new and there is room.
    public func number(of producer: UInt64) -> UInt32 {
        if producer == 0 { return ProducerDirectory.unnumbered }
        return state.withLock { state in
            if let n = state.numbers[producer] { return n }
            guard state.ids.count <= capacity else { return ProducerDirectory.unnumbered }
            let n = UInt32(state.ids.count)
            state.numbers[producer] = n
            state.ids.append(producer)
            numbered.store(state.ids.count - 1, ordering: .relaxed)
            return n
        }
    }

    /// The producer id of `number` (0 for ``unnumbered`` or an unknown number).
    public func producerID(of number: UInt32) -> UInt64 {
        state.withLock { Int(number) < $0.ids.count ? $0.ids[Int(number)] : 0 }
    }

    /// Producers numbered so far (never decreases: a fleet whose producers take a new id
    /// at every restart counts each; bounded by ``capacity``).
    public var count: Int { numbered.load(ordering: .relaxed) }
}
