import Synchronization
import TallyCore

/// Frames received per producer (the `producer_id` of each batch header), so a load
/// tester can check, producer by producer, that what it sent arrived. Updated once
/// per batch, never per frame. Holds at most ``capacity`` producers; batches of
/// producers beyond that are counted under ``ProducerLedger/otherProducers``. A producer
/// the engine released (idle for minutes, `ProducerDirectory`) is retired: its counts
/// join ``otherProducers``, its own disappear, and a batch of it later starts it from 0.
/// A producer the engine never numbered (its directory was full) is never released there,
/// so the ledger also retires, by its own clock, any producer idle past a longer delay
/// (``retireIdle(longerThanMicros:)``); without that, such entries would hold the ledger's
/// room for good.
public final class ProducerLedger: Sendable {
    /// What one producer's valid batches brought.
    public struct Entry: Sendable, Equatable {
        /// Frames in batches that passed validation.
        public var frames: UInt64 = 0
        /// Of those, frames the ingest port dropped (ring full, or stopping).
        public var ingestDropped: UInt64 = 0
        public var batches: UInt64 = 0
        public init() {}
    }

    /// Stands for every producer past ``capacity`` (and for producer id 0, which a
    /// `BatchEncoder` writes when given none: such batches cannot be told apart anyway).
    public static let otherProducers: UInt64 = 0
    public let capacity: Int
    /// A producer's counts and when its last batch came (µs, ``clock``; not kept for
    /// ``otherProducers``, which is never retired).
    private struct Listed {
        var entry = Entry()
        var lastBatchMicros: UInt64 = 0
    }
    private let entries = Mutex([UInt64: Listed]())
    /// The collector's clock, µs since the Unix epoch (injectable for tests).
    private let clock: @Sendable () -> UInt64

    public init(capacity: Int = 1_024, clock: @escaping @Sendable () -> UInt64 = AggregationEngine.wallClockMicros) {
        self.capacity = capacity
        self.clock = clock
    }

    /// Counts one valid batch of `frames` frames from `producer`, `dropped` of them at ingest.
    public func record(producer: UInt64, frames: UInt64, dropped: UInt64) {
        let now = clock()
        entries.withLock { entries in
            var key = producer
            let listed = entries.count - (entries[ProducerLedger.otherProducers] == nil ? 0 : 1)
            if entries[key] == nil && listed >= capacity { key = ProducerLedger.otherProducers }
            let stamped = key != ProducerLedger.otherProducers
            func add(_ counts: inout Listed) {
                counts.entry.frames &+= frames
                counts.entry.ingestDropped &+= dropped
                counts.entry.batches &+= 1
                if stamped { counts.lastBatchMicros = now }
            }
            add(&entries[key, default: Listed()])
        }
    }

    /// Retires `producers`: each one's counts are added to ``otherProducers``' and its entry
    /// removed, making room for another producer. Unknown ids are ignored.
    public func retire(_ producers: [UInt64]) {
        guard !producers.isEmpty else { return }
        entries.withLock { entries in
            for producer in producers { Self.retire(producer, in: &entries) }
        }
    }

    /// Retires every listed producer whose last batch came more than `idleMicros` ago (on
    /// ``clock``), as ``retire(_:)`` does, and returns their ids (ascending). The collector
    /// passes twice the engine's release delay, so a producer the engine numbered is
    /// released there first (``retire(_:)``) and this catches only those it never numbered.
    /// `UInt64.max`: none.
    @discardableResult
    public func retireIdle(longerThanMicros idleMicros: UInt64) -> [UInt64] {
        guard idleMicros != .max else { return [] }
        let now = clock()
        return entries.withLock { entries in
            let idle = entries.filter { producer, listed in
                producer != ProducerLedger.otherProducers && now > listed.lastBatchMicros
                    && now - listed.lastBatchMicros > idleMicros
            }.keys.sorted()
            for producer in idle { Self.retire(producer, in: &entries) }
            return idle
        }
    }

    /// Moves `producer`'s counts to ``otherProducers`` and forgets it (nothing for an
    /// unknown id or ``otherProducers`` itself).
    private static func retire(_ producer: UInt64, in entries: inout [UInt64: Listed]) {
        guard producer != ProducerLedger.otherProducers,
              let entry = entries.removeValue(forKey: producer)?.entry else { return }
        var other = entries[ProducerLedger.otherProducers, default: Listed()]
        other.entry.frames &+= entry.frames
        other.entry.ingestDropped &+= entry.ingestDropped
        other.entry.batches &+= entry.batches
        entries[ProducerLedger.otherProducers] = other
    }

    public var snapshot: [UInt64: Entry] { entries.withLock { $0.mapValues(\.entry) } }

    /// Counter names in snapshots: `producer.<16 hex digits>.frames|ingest_dropped|batches|folded|late|future`
    /// (`producer.other.…` for producers past the capacity).
    public static func counterName(producer: UInt64, field: String) -> String {
        "producer.\(label(producer)).\(field)"
    }

    /// A producer id as 16 hex digits (`other` for ``otherProducers``).
    public static func label(_ producer: UInt64) -> String {
        if producer == otherProducers { return "other" }
        let hex = String(producer, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
