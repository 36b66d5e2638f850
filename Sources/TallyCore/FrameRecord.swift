import TallyWire

/// One frame ready for aggregation: its series key (symbols), the shard-routing
/// hash, its event time and its measurements (cost included). A plain value,
/// copied through the ingest → shard rings.
public struct FrameRecord: Sendable {
    public var key: SeriesKey
    public var routingHash: UInt64
    public var eventTimeMicros: UInt64
    /// What the series aggregate folds (kept whole so that a series' stash takes it
    /// with one 64-byte copy).
    public var values: FrameValues

    public init(key: SeriesKey, routingHash: UInt64, eventTimeMicros: UInt64, values: FrameValues) {
        self.key = key
        self.routingHash = routingHash
        self.eventTimeMicros = eventTimeMicros
        self.values = values
    }
}
