import TallySketches

/// The series of one shard in one window: a hash table from ``SeriesKey`` to
/// ``SeriesAggregate``, with a cap on how many series it admits. Past the cap,
/// frames of new keys fold into one overflow series (``SeriesKey/overflow``), and
/// ``foldedFrames`` and ``foldedKeys`` say how much was folded. Owned by one shard
/// thread until sealed; not thread-safe.
public struct WindowTable: Sendable {
    public let startMicros: UInt64
    public let maxSeries: Int
    public let sketches: SketchParameters
    /// Index of each admitted key in ``aggregates``.
    public private(set) var index: [SeriesKey: Int] = [:]
    public private(set) var keys: [SeriesKey] = []
    public private(set) var aggregates: [SeriesAggregate] = []
    /// Frames that went to the overflow series because the table was full.
    public private(set) var foldedFrames: UInt64 = 0
    /// Distinct keys folded (estimated: an HLL over their routing hashes).
    public private(set) var foldedKeys = HyperLogLog(precision: 12)
    /// Frames added.
    public private(set) var frames: UInt64 = 0

    public init(startMicros: UInt64, maxSeries: Int, sketches: SketchParameters) {
        self.startMicros = startMicros
        self.maxSeries = max(1, maxSeries)
        self.sketches = sketches
    }

    /// Folds `record` into its series (or the overflow series).
    public mutating func add(_ record: FrameRecord) {
        frames &+= 1
        if let slot = index[record.key] {
            aggregates[slot].add(record)
            return
        }
        if keys.count < maxSeries {
            index[record.key] = keys.count
            keys.append(record.key)
            aggregates.append(SeriesAggregate(sketches: sketches))
            aggregates[aggregates.count - 1].add(record)
            return
        }
        foldedFrames &+= 1
        foldedKeys.insert(record.routingHash)
        if let slot = index[SeriesKey.overflow] {
            aggregates[slot].add(record)
        } else {
            // The overflow series is admitted beyond the cap: at most one per table.
            index[SeriesKey.overflow] = keys.count
            keys.append(SeriesKey.overflow)
            aggregates.append(SeriesAggregate(sketches: sketches))
            aggregates[aggregates.count - 1].add(record)
        }
    }

    public var seriesCount: Int { keys.count }

    /// The aggregate of `key`, if the table has it.
    public func aggregate(_ key: SeriesKey) -> SeriesAggregate? { index[key].map { aggregates[$0] } }
}
