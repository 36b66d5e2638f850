import TallySketches

/// The series of one shard in one window: an open-addressing hash table from
/// ``SeriesKey`` (probed by the record's precomputed ``FrameRecord/routingHash``)
/// to a ``SeriesAggregate``, with a cap on how many series it admits. Past the cap,
/// frames of new keys fold into one overflow series (``SeriesKey/overflow``), and
/// ``foldedFrames`` and ``foldedKeys`` say how much was folded.
///
/// Owned by one shard thread until sealed, then handed whole to the flusher; not
/// thread-safe, and that includes reads: a read folds the series' stashes. Mutable state sits behind a pointer so that the per-frame path
/// pays no dynamic exclusivity checks.
///
/// Memory (see Benchmarks/README.md, "Memory"): series live in pages of
/// ``pageSize`` entries (first record + aggregate pointer, no growth slack beyond
/// one page); the index costs 16 bytes a slot at a load of at most ½, so 32–64
/// bytes a series; a series' aggregate is allocated at its second frame.
public final class WindowTable: @unchecked Sendable {
    public let startMicros: UInt64
    public let maxSeries: Int
    public let sketches: SketchParameters

    /// One admitted series. A series that has seen one frame keeps just that
    /// record (168 bytes); its aggregate (about 900 bytes plus sketch storage) and
    /// its stash are allocated when the second frame arrives.
    ///
    /// From then on frames go to the stash (``stashCapacity`` × 64-byte
    /// ``FrameValues``), and a full stash is folded into the aggregate in one burst:
    /// the aggregate's ~30 cache lines (counters, seven digests' buffers, two
    /// HyperLogLogs, the category list) are fetched once per burst instead of once a
    /// frame, which under load is where a shard's time went (perf, Benchmarks/README.md).
    /// Readers see stashed frames: every read folds the stash first.
    @usableFromInline
    struct Entry {
        @usableFromInline var first: FrameRecord
        @usableFromInline var aggregate: UnsafeMutablePointer<SeriesAggregate>?
        @usableFromInline var stash: UnsafeMutablePointer<FrameValues>?
        @usableFromInline var stashed: Int = 0

        @usableFromInline var key: SeriesKey { first.key }

        @usableFromInline
        init(first: FrameRecord) { self.first = first }

        @inlinable
        mutating func add(_ record: FrameRecord, sketches: SketchParameters) {
            if let stash {
                (stash + stashed).initialize(to: record.values)
                stashed &+= 1
                if stashed == WindowTable.stashCapacity { fold() }
                return
            }
            let created = UnsafeMutablePointer<SeriesAggregate>.allocate(capacity: 1)
            created.initialize(to: SeriesAggregate(sketches: sketches))
            created.pointee.add(first)
            created.pointee.add(record)
            aggregate = created
            stash = .allocate(capacity: WindowTable.stashCapacity)
        }

        /// Folds the stashed frames into the aggregate.
        @usableFromInline
        mutating func fold() {
            guard let aggregate, let stash, stashed > 0 else { return }
            for i in 0..<stashed { aggregate.pointee.add(stash[i]) }
            stash.deinitialize(count: stashed)  // trivial values: nothing to release
            stashed = 0
        }

        /// The aggregate so far (built from the first record when there is only one).
        mutating func snapshot(sketches: SketchParameters) -> SeriesAggregate {
            fold()
            if let aggregate { return aggregate.pointee }
            var single = SeriesAggregate(sketches: sketches)
            single.add(first)
            return single
        }

        /// Frees the aggregate and the stash.
        func release() {
            if let aggregate {
                aggregate.deinitialize(count: 1)
                aggregate.deallocate()
            }
            stash?.deallocate()
        }
    }

    /// Frames a busy series stashes before folding them into its aggregate: 8 × 64 B
    /// = 512 B a series, one allocator size class.
    public static let stashCapacity = 8

    /// Index slot: the key's routing hash and its entry number + 1 (0: empty).
    @usableFromInline
    struct Slot {
        @usableFromInline var hash: UInt64
        @usableFromInline var entry: UInt32
    }

    @usableFromInline
    struct State {
        @usableFromInline var slots: UnsafeMutablePointer<Slot>
        @usableFromInline var slotMask: Int
        @usableFromInline var count = 0
        @usableFromInline var pages: [UnsafeMutablePointer<Entry>] = []
        @usableFromInline var overflowEntry: Int? = nil
        @usableFromInline var frames: UInt64 = 0
        @usableFromInline var foldedFrames: UInt64 = 0
        @usableFromInline var foldedKeys = HyperLogLog(precision: 12)
    }

    /// Entries a page holds.
    public static let pageSize = 256
    @usableFromInline let state: UnsafeMutablePointer<State>

    public init(startMicros: UInt64, maxSeries: Int, sketches: SketchParameters) {
        self.startMicros = startMicros
        self.maxSeries = max(1, maxSeries)
        self.sketches = sketches
        let slotCount = 16
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: slotCount)
        slots.initialize(repeating: Slot(hash: 0, entry: 0), count: slotCount)
        state = .allocate(capacity: 1)
        state.initialize(to: State(slots: slots, slotMask: slotCount - 1))
    }

    deinit {
        let s = state.pointee
        for (p, page) in s.pages.enumerated() {
            let used = min(WindowTable.pageSize, s.count - p * WindowTable.pageSize)
            for i in 0..<used { page[i].release() }
            page.deinitialize(count: used)
            page.deallocate()
        }
        s.slots.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Frames added.
    public var frames: UInt64 { state.pointee.frames }
    /// Frames that went to the overflow series because the table was full.
    public var foldedFrames: UInt64 { state.pointee.foldedFrames }
    /// Distinct keys folded (estimated: an HLL over their routing hashes).
    public var foldedKeys: HyperLogLog { state.pointee.foldedKeys }
    /// Series held, the overflow series included.
    public var seriesCount: Int { state.pointee.count }

    /// Folds `record` into its series (or the overflow series).
    @inlinable
    public func add(_ record: FrameRecord) {
        let s = state
        s.pointee.frames &+= 1
        let hash = record.routingHash
        var i = WindowTable.home(hash) & s.pointee.slotMask
        while true {
            let slot = s.pointee.slots[i]
            if slot.entry == 0 { break }
            if slot.hash == hash {
                let entry = entryPointer(Int(slot.entry) - 1)
                if entry.pointee.key == record.key {
                    entry.pointee.add(record, sketches: sketches)
                    return
                }
            }
            i = (i &+ 1) & s.pointee.slotMask
        }
        addNew(record, slot: i)
    }

    /// A key's first slot, from the routing hash's bits 29 and up. (The shard was chosen
    /// by the high word of `routingHash × shards`, which with a few shards is the top
    /// bit or two: a table would need 2³⁴ slots to see them.)
    @inlinable @inline(__always)
    static func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 29) }

    @usableFromInline
    func entryPointer(_ n: Int) -> UnsafeMutablePointer<Entry> {
        state.pointee.pages[n / WindowTable.pageSize] + n % WindowTable.pageSize
    }

    /// A key not in the table: admit it at empty slot `slot`, or fold it.
    @usableFromInline
    func addNew(_ record: FrameRecord, slot: Int) {
        let s = state
        // A key that is itself the overflow key (its model symbol overflowed the
        // symbol table) shares the overflow series but is not counted as folded.
        let isOverflowKey = record.key == .overflow
        if !isOverflowKey && s.pointee.count - (s.pointee.overflowEntry == nil ? 0 : 1) < maxSeries {
            let n = append(record)
            s.pointee.slots[slot] = Slot(hash: record.routingHash, entry: UInt32(n + 1))
            if 2 * s.pointee.count > s.pointee.slotMask + 1 { growIndex() }
            return
        }
        if !isOverflowKey {
            s.pointee.foldedFrames &+= 1
            s.pointee.foldedKeys.insert(record.routingHash)
        }
        // The overflow series is admitted beyond the cap (at most one a table) and is
        // found through `overflowEntry`, not the index.
        if let n = s.pointee.overflowEntry {
            entryPointer(n).pointee.add(record, sketches: sketches)
        } else {
            var first = record
            first.key = .overflow
            s.pointee.overflowEntry = append(first)
        }
    }

    /// Appends an entry holding `first`; returns its number.
    private func append(_ first: FrameRecord) -> Int {
        let s = state
        let n = s.pointee.count
        if n % WindowTable.pageSize == 0 {
            s.pointee.pages.append(.allocate(capacity: WindowTable.pageSize))
        }
        (s.pointee.pages[n / WindowTable.pageSize] + n % WindowTable.pageSize)
            .initialize(to: Entry(first: first))
        s.pointee.count = n + 1
        return n
    }

    /// Doubles the index and re-inserts every indexed entry.
    private func growIndex() {
        let s = state
        let old = s.pointee.slots, oldCount = s.pointee.slotMask + 1
        let count = oldCount * 2
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: count)
        slots.initialize(repeating: Slot(hash: 0, entry: 0), count: count)
        for j in 0..<oldCount where old[j].entry != 0 {
            var i = WindowTable.home(old[j].hash) & (count - 1)
            while slots[i].entry != 0 { i = (i + 1) & (count - 1) }
            slots[i] = old[j]
        }
        old.deallocate()
        s.pointee.slots = slots
        s.pointee.slotMask = count - 1
    }

    /// The aggregate of `key`, if the table has it.
    public func aggregate(_ key: SeriesKey) -> SeriesAggregate? {
        if key == .overflow {
            return state.pointee.overflowEntry.map { entryPointer($0).pointee.snapshot(sketches: sketches) }
        }
        let hash = key.routingHash
        var i = WindowTable.home(hash) & state.pointee.slotMask
        while state.pointee.slots[i].entry != 0 {
            let entry = entryPointer(Int(state.pointee.slots[i].entry) - 1)
            if state.pointee.slots[i].hash == hash && entry.pointee.key == key {
                return entry.pointee.snapshot(sketches: sketches)
            }
            i = (i + 1) & state.pointee.slotMask
        }
        return nil
    }

    /// Calls `body` with every series in admission order.
    public func forEachSeries<E: Error>(_ body: (SeriesKey, SeriesAggregate) throws(E) -> Void) throws(E) {
        for n in 0..<seriesCount {
            let entry = entryPointer(n)
            try body(entry.pointee.key, entry.pointee.snapshot(sketches: sketches))
        }
    }

    /// The keys in admission order (a copy).
    public var keys: [SeriesKey] { (0..<seriesCount).map { entryPointer($0).pointee.key } }
    /// The aggregates in admission order (a copy).
    public var aggregates: [SeriesAggregate] {
        (0..<seriesCount).map { entryPointer($0).pointee.snapshot(sketches: sketches) }
    }
}
