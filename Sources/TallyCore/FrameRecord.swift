import TallyWire

/// One frame ready for aggregation: its series key (symbols), the shard-routing
/// hash, its event time, its measurements (cost included) and the number of the
/// producer that sent it (``ProducerDirectory``). A plain value of 168 bytes, copied
/// through the ingest → shard rings (the producer number sits in what was padding).
public struct FrameRecord: Sendable {
    public var key: SeriesKey
    public var routingHash: UInt64
    public var eventTimeMicros: UInt64
    /// What the series aggregate folds (kept whole so that a series' stash takes it
    /// with one 64-byte copy).
    public var values: FrameValues
    /// The sending producer's ``ProducerDirectory`` number (``ProducerDirectory/unnumbered``
    /// when not known): whose share of a window's series cap a new key takes.
    public var producer: UInt32

    public init(key: SeriesKey, routingHash: UInt64, eventTimeMicros: UInt64, values: FrameValues,
                producer: UInt32 = ProducerDirectory.unnumbered) {
        self.key = key
        self.routingHash = routingHash
        self.eventTimeMicros = eventTimeMicros
        self.values = values
        self.producer = producer
    }
}
