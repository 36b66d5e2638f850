#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// How an ``AggregationEngine`` is shaped.
public struct EngineConfiguration: Sendable {
    /// Shard threads (each owns the series whose routing hash maps to it); one per
    /// online core by default.
    public var shards: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// Records each ingest→shard ring holds (rounded up to a power of two).
    public var ringCapacity: Int = 16_384
    /// What an ingest thread does when a shard's ring is full.
    public var backPressure: BackPressure = .wait(maxMicros: 100_000)
    /// Series a shard admits per window before folding new keys into its overflow series.
    public var maxSeriesPerShardWindow: Int = 50_000
    /// Bytes the window tables (open, and sealed until flushed) may hold, at each series'
    /// worst case (``EngineMemory``); past it new keys and second frames fold into the
    /// overflow series (`frames.folded_memory`). `Int.max`: no limit.
    public var memoryLimitBytes: Int = .max
    /// Live strings the engine's symbol table holds (``SymbolTable/maxSymbols``); past it
    /// new strings map to `~overflow~` until unused ones are released.
    public var maxSymbols: Int = 1 << 20
    public var window = WindowPolicy()
    public var sketches = SketchParameters()
    public var prices = PriceTable()
    /// Which tag keys are series dimensions, which make cohort aggregates, and which are
    /// dropped (default: every tag a series dimension).
    public var tags = TagPolicy.legacy
    /// k of the per-slice heavy-hitter summaries (users by requests and by cost,
    /// ``HeavyHitterTable``), 1 … 1,024 (larger values are taken as 1,024; an insert scans
    /// k keys, so keep it small); 0 (the default): none kept.
    public var heavyHitterCapacity = 0
    /// The distributions of every cohort aggregate a snapshot reduces to summaries
    /// (``SummarizedDigests``; applied by ``Snapshot/build(_:collectorID:sequence:symbols:sketches:counters:cohortSummaries:)``);
    /// default none, tallyd's from `cohort_distributions`.
    public var cohortSummaries: SummarizedDigests = []
    /// Whether cohort aggregates count input categories (only drift over cohort scopes reads
    /// them); false leaves every cohort's category histogram empty, ~2 bytes a frame less in
    /// the demo's snapshots. Default true, tallyd's from `cohort_categories` (default false).
    public var cohortCategories = true

    /// Whether the heavy-hitter summaries rank tenants too: kept, with a heavy-hitter tag.
    public var heavyHitterTenants: Bool { heavyHitterCapacity > 0 && tags.heavyHitterKey != nil }

    /// ``tags`` as the batch resolvers apply them: without the heavy-hitter key when no
    /// heavy hitters are kept (its values are then not looked up at all).
    public var resolvedTags: TagPolicy {
        var tags = tags
        if !heavyHitterTenants { tags.heavyHitterKey = nil }
        return tags
    }

    public init() {}

    public enum BackPressure: Sendable, Equatable {
        /// Drop the frame at once (counted as `ring_full`).
        case drop
        /// Wait for room (a few yields, then 50 µs sleeps) up to this long, then drop
        /// (counted as `ring_full_timeout`). Meanwhile ZeroMQ buffers upstream.
        case wait(maxMicros: UInt64)
    }
}

/// Why the engine did not aggregate a frame it was given.
public enum EngineDropReason: Int, CaseIterable, Sendable {
    /// The shard's ring was full and the policy is `.drop`.
    case ringFull
    /// The shard's ring stayed full for the whole `.wait` time.
    case ringFullTimeout
    /// Its window was already sealed (see ``WindowPolicy``).
    case late
    /// Its event time was too far ahead of the collector's clock.
    case future
    /// Given to the engine after `stop()`.
    case stopped

    public var name: String {
        switch self {
        case .ringFull: "ring_full"
        case .ringFullTimeout: "ring_full_timeout"
        case .late: "late"
        case .future: "future"
        case .stopped: "stopped"
        }
    }
}

/// The engine's own counters. Once stopped and collected:
/// `accepted == aggregated + dropped (all reasons)`.
public struct EngineCounters: Sendable, Equatable {
    /// Frames handed to ``IngestPort/ingest(_:)``.
    public var accepted: UInt64 = 0
    /// Frames folded into a window, per shard.
    public var aggregatedPerShard: [UInt64] = []
    /// By ``EngineDropReason`` raw value.
    public var dropped = [UInt64](repeating: 0, count: EngineDropReason.allCases.count)
    /// Frames folded into an overflow series (included in aggregated).
    public var folded: UInt64 = 0
    /// Of those, frames folded because the tables reached ``EngineConfiguration/memoryLimitBytes``.
    public var foldedForMemory: UInt64 = 0
    /// Busy series refused room for their histogram front ends (sealed windows); they kept
    /// going on their t-digests, slower and as exact.
    public var histogramsRefused: UInt64 = 0
    /// Tags dropped at ingest: keys neither a series dimension nor a breakdown key (``TagPolicy``).
    public var tagsDropped: UInt64 = 0
    /// Frames a cohort aggregate could not take (the window's series cap or the memory
    /// budget refused the aggregate; sealed windows): the frame is in its series, not in
    /// that cohort.
    public var cohortsRefused: UInt64 = 0
    /// Frames with a user hash that no heavy-hitter summary took (the window's slice cap or
    /// the memory budget refused their slice's summaries; sealed windows).
    public var heavyHittersRefused: UInt64 = 0
    /// Bytes the window tables hold now (worst-case estimate, ``EngineMemory``), and the
    /// limit (0: none). Gauges.
    public var memoryBytes: UInt64 = 0
    public var memoryLimitBytes: UInt64 = 0
    /// Folded frames by the batch header's producer id (0: id 0, or past the
    /// ``ProducerDirectory``'s capacity). Reported by tallyd as `producer.<id>.folded`.
    public var foldedByProducer: [UInt64: UInt64] = [:]
    /// Late and future frames (`dropped.late`, `dropped.future`) by the same producer ids.
    /// Reported by tallyd as `producer.<id>.late` and `producer.<id>.future`.
    public var lateByProducer: [UInt64: UInt64] = [:]
    public var futureByProducer: [UInt64: UInt64] = [:]
    /// Bytes of ``memoryBytes`` each producer id holds now (a gauge; producers holding none
    /// are absent; empty when there is no limit). Reported by tallyd as `producer.<id>.memory_bytes`.
    public var memoryBytesByProducer: [UInt64: UInt64] = [:]
    /// Producers active now (a gauge, ``ProducerDirectory/active``): the divisor of the
    /// fair shares of the series cap, the memory limit and the symbol table.
    public var producersActive: UInt64 = 0
    /// Windows sealed (counted per shard table).
    public var sealedTables: UInt64 = 0
    /// Distinct strings in the symbol table now (a gauge; bounded by ``SymbolTable/maxSymbols``).
    public var symbolsInterned: UInt64 = 0
    /// Strings mapped to ``SymbolTable/overflow`` because the table was full.
    public var symbolsOverflowed: UInt64 = 0
    /// Symbols released because nothing used them any more (``SymbolReclaimer``).
    public var symbolsReleased: UInt64 = 0

    public init() {}

    public var aggregated: UInt64 { aggregatedPerShard.reduce(0, +) }
    public func dropped(_ reason: EngineDropReason) -> UInt64 { dropped[reason.rawValue] }
    public var totalDropped: UInt64 { dropped.reduce(0, +) }
}

extension EngineCounters {
    /// The counters by the stable names snapshots carry: `frames.accepted`,
    /// `frames.aggregated`, `frames.folded`, `dropped.<reason>`, `shard.<i>.frames`,
    /// `windows.sealed_tables`, `symbols.overflowed`, `symbols.released`, `frames.folded_memory`, `series.histograms_refused`,
    /// `tags.dropped`, `cohorts.refused`, `heavy_hitters.refused`: cumulative since
    /// the engine started; `symbols.interned`, `engine.memory_bytes`, `engine.memory_limit_bytes`,
    /// `producers.active`: gauges.
    public var named: [String: UInt64] {
        var result: [String: UInt64] = [
            "frames.accepted": accepted, "frames.aggregated": aggregated, "frames.folded": folded,
            "frames.folded_memory": foldedForMemory, "series.histograms_refused": histogramsRefused,
            "tags.dropped": tagsDropped, "cohorts.refused": cohortsRefused,
            "heavy_hitters.refused": heavyHittersRefused,
            "engine.memory_bytes": memoryBytes, "engine.memory_limit_bytes": memoryLimitBytes,
            "producers.active": producersActive,
            "windows.sealed_tables": sealedTables,
            "symbols.interned": symbolsInterned, "symbols.overflowed": symbolsOverflowed,
            "symbols.released": symbolsReleased,
        ]
        for reason in EngineDropReason.allCases { result["dropped.\(reason.name)"] = dropped(reason) }
        for (i, frames) in aggregatedPerShard.enumerated() { result["shard.\(i).frames"] = frames }
        return result
    }
}
