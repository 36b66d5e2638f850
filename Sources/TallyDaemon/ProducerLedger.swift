import Synchronization

/// Frames received per producer (the `producer_id` of each batch header), so a load
/// tester can check, producer by producer, that what it sent arrived. Updated once
/// per batch, never per frame. Holds at most ``capacity`` producers; batches of
/// producers beyond that are counted under ``ProducerLedger/otherProducers``. A producer
/// the engine released (idle for minutes, `ProducerDirectory`) is retired: its counts
/// join ``otherProducers``, its own disappear, and a batch of it later starts it from 0.
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
    private let entries = Mutex([UInt64: Entry]())

    public init(capacity: Int = 1_024) {
        self.capacity = capacity
    }

    /// Counts one valid batch of `frames` frames from `producer`, `dropped` of them at ingest.
    public func record(producer: UInt64, frames: UInt64, dropped: UInt64) {
        entries.withLock { entries in
            var key = producer
            let listed = entries.count - (entries[ProducerLedger.otherProducers] == nil ? 0 : 1)
            if entries[key] == nil && listed >= capacity { key = ProducerLedger.otherProducers }
            var entry = entries[key] ?? Entry()
            entry.frames &+= frames
            entry.ingestDropped &+= dropped
            entry.batches &+= 1
            entries[key] = entry
        }
    }

    /// Retires `producers`: each one's counts are added to ``otherProducers``' and its entry
    /// removed, making room for another producer. Unknown ids are ignored.
    public func retire(_ producers: [UInt64]) {
        guard !producers.isEmpty else { return }
        entries.withLock { entries in
            for producer in producers where producer != ProducerLedger.otherProducers {
                guard let entry = entries.removeValue(forKey: producer) else { continue }
                var other = entries[ProducerLedger.otherProducers] ?? Entry()
                other.frames &+= entry.frames
                other.ingestDropped &+= entry.ingestDropped
                other.batches &+= entry.batches
                entries[ProducerLedger.otherProducers] = other
            }
        }
    }

    public var snapshot: [UInt64: Entry] { entries.withLock { $0 } }

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
