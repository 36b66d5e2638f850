import TallyCore

/// How `memory_budget_mib` is split between the parts of tallyd that hold memory in
/// proportion to their input, and the bound each part derives from its share.
///
///     ingest (ZeroMQ's receive queues)   1/2    IngestBudget
///     window tables                      1/4    EngineConfiguration.memoryLimitBytes
///     flush (one window being built)     1/8    series per window ≤ 1/16 ÷ 2,623 B
///     symbol table                       1/16   ÷ 448 B a symbol
///     sink queues                        1/32   shared equally by the sinks
///     the rest (code, heaps, threads)    1/32   not derived: 30 MiB idle, 37 MiB with
///                                               the HTTP face (release tallyd, VmRSS)
///
/// The flush's eighth: building a window's snapshot while its table is still held costs at
/// most ``flushBytesPerSeries`` a series (a one-frame series at its peak, 2,456 B, plus its
/// 167 encoded bytes), so the series of one window are capped at half the eighth ÷ that.
/// The other half is for what series of more than one frame cost beyond that: a busy
/// series' encoded bytes (~8 KB each with every sketch at its largest), for which the tables
/// reserve 32 KiB, and a series of 2 to 30 frames' (built at the seal: ≤ 3,460 B more), for
/// which they reserve 16 KiB (``EngineMemory``): each at most a quarter of its reservation,
/// so at most quarter ÷ 4 = budget ÷ 16 in all. Measured with
/// `tally-kernels memory-flush-one-frame 75000`, `memory-flush-30 10000` and
/// `memory-flush-saturated 1000` (Benchmarks/README.md, "Memory").
public struct MemoryShares: Sendable, Equatable {
    /// Resident bytes building and encoding one series of a window costs at most.
    public static let flushBytesPerSeries = 2_623
    /// What an ``EncodedSnapshot`` queued for a sink holds per series besides its bytes
    /// (the decoded ``Snapshot`` kept for the JSON-lines, index and alert sinks): the
    /// 2,176 B a series that `memory-flush-one-frame` measured as built, rounded up.
    public static let queuedBytesPerSeries = 2_200

    public let budgetBytes: Int
    public init(budgetMiB: Int) { budgetBytes = budgetMiB << 20 }

    /// The window tables' share (a quarter).
    public var tableBytes: Int { budgetBytes / 4 }
    /// Live symbols the symbol table may hold (a sixteenth, each at its worst case).
    public var maxSymbols: Int { budgetBytes / 16 / SymbolTable.worstCaseBytesPerSymbol }
    /// Series one window may hold over all shards, so that its flush fits its share.
    public var maxSeriesPerWindow: Int { max(1, budgetBytes / 16 / MemoryShares.flushBytesPerSeries) }
    /// Bytes of snapshots all sink queues may hold together; a queue always admits one
    /// snapshot when it is empty, so a window bigger than a sink's part still flows.
    public var sinkQueueBytes: Int { budgetBytes / 32 }

    /// The per-shard series cap: the configured one, or less when the budget's flush share
    /// is the tighter bound (split evenly over `shards`).
    public func seriesPerShard(configured: Int, shards: Int) -> Int {
        min(configured, max(1, maxSeriesPerWindow / max(1, shards)))
    }
}
