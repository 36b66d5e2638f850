import TallyCore
import TallySketches

/// A rolling span (e.g. the last hour) kept as partial roll-ups, so that a span is
/// never re-merged from all its windows.
///
/// Windows are merged into a current block of `blockWindows` = ⌈n / blocks⌉ windows;
/// completed blocks wait in a two-stack queue (the "two stacks" sliding-window
/// aggregation of Tangwongsan, Hirzel and Schneider, "Sliding-Window Aggregation
/// Algorithms", 2017): the older stack holds suffix merges, the newer stack a running
/// merge, so the span is always the merge of three parts per scope.
///
/// Cost per window, per scope present: one two-part merge into the current block and
/// one three-part merge for the span's value; per completed block one more merge, and
/// every `blocks` blocks a flip of `blocks` merges. Memory: at most 2 × `blocks` + 2
/// scope maps. Coverage: whole blocks, from ⌈n / blockWindows⌉ × blockWindows windows up
/// to blockWindows − 1 more while the current block fills.
public struct RollingSpan: Sendable {
    public let name: String
    /// The span's length in windows.
    public let windows: Int
    public let blockWindows: Int
    private let maxBlocks: Int

    private struct Part: Sendable {
        var scopes: ScopeMap = [:]
        /// The windows' heavy hitters merged over their slices; nil when none kept any.
        var heavyHitters: SliceHeavyHitters?
        var windows = 0
        var startMicros: UInt64 = .max
        var endMicros: UInt64 = 0
        mutating func absorb(_ other: Part) throws(SketchError) {
            scopes = try ScopeMaps.merged([scopes, other.scopes])
            heavyHitters = Self.merged(heavyHitters, endMicros, other.heavyHitters, other.endMicros)
            windows += other.windows
            startMicros = min(startMicros, other.startMicros)
            endMicros = max(endMicros, other.endMicros)
        }

        /// Both merged; when they do not merge (the collector was restarted with another
        /// capacity or tenant tag), the newer part's alone, so the span shows the current setting.
        static func merged(_ a: SliceHeavyHitters?, _ aEnd: UInt64, _ b: SliceHeavyHitters?, _ bEnd: UInt64) -> SliceHeavyHitters? {
            guard var merged = a else { return b }
            guard let b else { return a }
            do {
                try merged.merge(b)
                return merged
            } catch {
                return bEnd >= aEnd ? b : a
            }
        }
    }

    private var current = Part()
    /// Completed blocks, newest last, and their running merge.
    private var newer: [Part] = []
    private var newerMerged = Part()
    /// Suffix merges of the older blocks: `older.last` covers every older block (the oldest is last to pop).
    private var older: [Part] = []

    public init(name: String, windows: Int, blocks: Int) {
        self.name = name
        self.windows = max(1, windows)
        blockWindows = max(1, (self.windows + blocks - 1) / max(1, blocks))
        maxBlocks = (self.windows + blockWindows - 1) / blockWindows
    }

    /// Adds one window's scopes and its heavy hitters merged over its slices.
    public mutating func add(_ scopes: ScopeMap, heavyHitters: SliceHeavyHitters? = nil, startMicros: UInt64,
                             endMicros: UInt64) throws(SketchError) {
        try current.absorb(Part(scopes: scopes, heavyHitters: heavyHitters, windows: 1, startMicros: startMicros,
                                endMicros: endMicros))
        guard current.windows >= blockWindows else { return }
        newer.append(current)
        try newerMerged.absorb(current)
        current = Part()
        if older.count + newer.count > maxBlocks { try dropOldest() }
    }

    private mutating func dropOldest() throws(SketchError) {
        if older.isEmpty {
            // Flip: suffix merges from the newest block back to the oldest.
            var suffix = Part()
            for block in newer.reversed() {
                try suffix.absorb(block)
                older.append(suffix)
            }
            newer.removeAll()
            newerMerged = Part()
        }
        older.removeLast()
    }

    /// The span's scopes so far, with its bounds, how many windows it holds, and its heavy
    /// hitters merged over its windows (nil when none kept any).
    public func value() throws(SketchError)
        -> (scopes: ScopeMap, startMicros: UInt64, endMicros: UInt64, windows: Int, heavyHitters: SliceHeavyHitters?) {
        let parts = ([older.last, newerMerged, current] as [Part?]).compactMap { $0 }.filter { $0.windows > 0 }
        let start = parts.map(\.startMicros).min() ?? 0
        var heavyHitters: SliceHeavyHitters?, heavyHittersEnd: UInt64 = 0
        for part in parts {  // oldest first
            heavyHitters = Part.merged(heavyHitters, heavyHittersEnd, part.heavyHitters, part.endMicros)
            heavyHittersEnd = max(heavyHittersEnd, part.endMicros)
        }
        return (try ScopeMaps.merged(parts.map(\.scopes)), start, parts.map(\.endMicros).max() ?? 0,
                parts.reduce(0) { $0 + $1.windows }, heavyHitters)
    }
}
