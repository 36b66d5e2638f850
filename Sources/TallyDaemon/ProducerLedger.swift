import Synchronization

/// Frames received per producer (the `producer_id` of each batch header), so a load
/// tester can check, producer by producer, that what it sent arrived. Updated once
/// per batch, never per frame. Holds at most ``capacity`` producers; batches of
/// producers beyond that are counted under ``ProducerLedger/otherProducers``.
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
            if entries[key] == nil && entries.count >= capacity { key = ProducerLedger.otherProducers }
            var entry = entries[key] ?? Entry()
            entry.frames &+= frames
            entry.ingestDropped &+= dropped
            entry.batches &+= 1
            entries[key] = entry
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
