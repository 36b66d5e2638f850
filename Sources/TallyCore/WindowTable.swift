import TallySketches
import TallyWire

/// The series of one shard in one window: an open-addressing hash table from
/// ``SeriesKey`` (probed by the record's precomputed ``FrameRecord/routingHash``)
/// to a ``SeriesAggregate``, with a cap on how many series it admits. Past the cap,
/// frames of new keys fold into one overflow series (``SeriesKey/overflow``), and
/// ``foldedFrames``, ``foldedKeys`` and ``foldedFramesByProducer`` say how much was folded.
///
/// The cap is shared fairly between producers (``FrameRecord/producer``): the first
/// ``sharedSeries`` keys (½ of the cap) are admitted first come, first served; the second
/// half only to a producer that has admitted fewer keys than its fair share: the cap
/// divided by the producers that admitted keys in this table or, if more, the producers
/// active now (``ProducerDirectory/active``: a batch within the last minute, or two
/// windows and their lateness if longer). A producer flooding new keys passes its
/// share while filling the first half, so its later keys fold, while a producer with fewer
/// keys than its share still gets its own series until the cap itself is reached; a lone
/// producer may fill the whole cap. With two producers each is sure of its half; with
/// more, the producers below their share compete for the second half. Limits: a producer
/// first heard from after a flood took the second half folds its new keys until the next
/// window; producers are told apart by the batch header's `producer_id`, so one that
/// forges many ids is many producers to this policy (CURVE with an allowlist is the
/// defence).
///
/// Owned by one shard thread until sealed, then handed whole to the flusher; not
/// thread-safe, and that includes reads: a read folds the series' stashes. Mutable state sits behind a pointer so that the per-frame path
/// pays no dynamic exclusivity checks.
///
/// Memory (see Benchmarks/README.md, "Memory"): series live in pages of
/// ``pageSize`` entries (first record + aggregate pointer, no growth slack beyond
/// one page); the index costs 16 bytes a slot at a load of at most ½, so 32–64
/// bytes a series; a series' block (stash and room for its aggregate) is taken at its
/// second frame, and the aggregate built in it at its 31st.
public final class WindowTable: @unchecked Sendable {
    public let startMicros: UInt64
    public let maxSeries: Int
    public let sketches: SketchParameters
    /// The distributions its cohort aggregates keep as summaries (``SummarizedDigests``).
    public let cohortSummaries: SummarizedDigests
    /// Whether its cohort aggregates count input categories (false: their histograms stay empty).
    public let cohortCategories: Bool
    /// The engine's producers, for the fair share (nil: only this table's producers count).
    let producers: ProducerDirectory?
    /// What the engine's tables may hold (nil: no limit, nothing accounted).
    let memory: EngineMemory?
    /// The symbol table this table's keys come from, and the generation of the lease it
    /// holds on their symbols until freed (``SymbolTable/openLease()``; nil: no lease).
    let symbols: SymbolTable?
    let symbolLease: UInt64
    /// Per-slice heavy hitters (users by requests and by cost); nil when not configured.
    @usableFromInline let heavyHitters: HeavyHitterTable?

    /// One admitted series. A series that has seen one frame keeps just that
    /// record (168 bytes). Its second frame takes a block from the table's
    /// ``PromotedBlockPool``: room for its aggregate (a ``LiveSeriesAggregate``, 1,456 bytes
    /// plus sketch storage). Frames from the second on go to a stash, which until the
    /// aggregate is built is the whole block (``openStashCapacity`` frames), and then a
    /// stash of ``stashCapacity`` frames from the table's second pool. The
    /// aggregate is built when that open stash fills, at the series' 31st frame
    /// (``WindowTable/stashFilled(_:_:)``, once ``EngineMemory`` has room for it), and its histograms come from its first
    /// stash fold past its 64th request on (its 95th frame),
    /// in allowances the table reserves (``settleAllowance(_:_:)``). A series that ends its
    /// window with fewer frames (most series) never builds one on the shard: its snapshot
    /// aggregate is built from its frames when the window seals (``snapshot(sketches:)``,
    /// on the flusher's thread).
    ///
    /// A full stash is folded into the aggregate in one burst: the aggregate's ~30 cache
    /// lines (counters, seven digests' buffers, two HyperLogLogs, the category list) are
    /// fetched once per burst instead of once a frame, which under load is where a shard's
    /// time went (perf, Benchmarks/README.md). Readers see stashed frames: every read folds
    /// the stash first, or builds from the first frame and the stash.
    @usableFromInline
    struct Entry {
        @usableFromInline var first: FrameRecord
        /// The built aggregate, at the start of the series' block; nil until the open stash fills.
        @usableFromInline var aggregate: UnsafeMutablePointer<LiveSeriesAggregate>?
        /// The stash, from the second frame on: the open stash (the block's start) until the
        /// aggregate is built, then the one after it; nil for a one-frame series.
        @usableFromInline var stash: UnsafeMutablePointer<FrameValues>?
        /// Frames in the stash (or ``refusedStash``).
        @usableFromInline var stashed: Int32 = 0
        /// Frames the stash holds: ``WindowTable/openStashCapacity`` until the aggregate is
        /// built, then ``WindowTable/stashCapacity`` (stored, so a frame compares one field).
        @usableFromInline var stashLimit: Int32 = 0

        @usableFromInline var key: SeriesKey { first.key }

        /// ``stashed`` of a series without a stash that ``EngineMemory`` refused a block.
        static let refusedStash: Int32 = -1

        @usableFromInline
        init(first: FrameRecord) { self.first = first }

        /// Parks a frame of a promoted series (``stash`` is not nil). Returns true when the
        /// stash is now full (the table then calls ``WindowTable/stashFilled(_:_:)``): the
        /// open stash at ``WindowTable/openStashCapacity`` frames, a built series' at
        /// ``WindowTable/stashCapacity``.
        @inlinable
        mutating func addToStash(_ record: UnsafePointer<FrameRecord>) -> Bool {
            (stash.unsafelyUnwrapped + Int(stashed)).initialize(to: record.pointee.values)
            stashed &+= 1
            return stashed == stashLimit
        }

        /// The series' second frame: takes a block from `pool` and stashes the frame at its
        /// start, in the open stash. The aggregate is left unbuilt (``build(sketches:summaries:)``).
        mutating func promote(_ record: UnsafePointer<FrameRecord>, pool: inout PromotedBlockPool) {
            let open = PromotedBlockPool.openStash(of: pool.take())
            open.initialize(to: record.pointee.values)
            stash = open
            stashed = 1
            stashLimit = Int32(WindowTable.openStashCapacity)
        }

        /// Builds the aggregate from the first frame and the full open stash, in the order
        /// they came, and moves it to the block, where the open stash was (read out before
        /// the move); a stash from `stashes`, empty, takes the next frames. Once a series.
        mutating func build(sketches: SketchParameters, summaries: SummarizedDigests, stashes: inout PromotedBlockPool) {
            let block = UnsafeMutableRawPointer(stash.unsafelyUnwrapped)
            var built = LiveSeriesAggregate(sketches: sketches, cohort: first.key.isCohort, summaries: summaries)
            built.add(first.values)
            for values in stashedValues { built.add(values) }
            stash.unsafelyUnwrapped.deinitialize(count: Int(stashed))  // trivial values: nothing to release
            let place = PromotedBlockPool.aggregate(of: block)
            place.initialize(to: consume built)
            aggregate = place
            stash = PromotedBlockPool.stash(of: stashes.take())
            stashed = 0
            stashLimit = Int32(WindowTable.stashCapacity)
        }

        /// The frames in the stash, in order (none without a stash or when refused one).
        var stashedValues: UnsafeBufferPointer<FrameValues> {
            UnsafeBufferPointer(start: stash, count: stash == nil ? 0 : Int(Swift.max(stashed, 0)))
        }

        /// Folds the stashed frames into the aggregate (nothing before it is built).
        @usableFromInline
        mutating func fold() {
            guard let aggregate, let stash, stashed > 0 else { return }
            aggregate.pointee.add(contentsOf: stashedValues)
            stash.deinitialize(count: Int(stashed))  // trivial values: nothing to release
            stashed = 0
        }

        /// The aggregate so far. A series without a built aggregate (one frame, or up to 30
        /// more in its open stash) gets it built here from its frames, in their order, as the
        /// shard would have; from five frames on all at once, its sketches sized once for them
        /// (``SeriesAggregate/addAll(_:_:cohort:)``; a cohort's summaries are applied by the
        /// snapshot, as for every cohort).
        mutating func snapshot(sketches: SketchParameters) -> SeriesAggregate {
            if let aggregate {
                fold()
                return LiveSeriesAggregate.sealed(aggregate)
            }
            var built = SeriesAggregate(sketches: sketches)
            let cohort = first.key.isCohort
            if stashed >= TDigest.smallCapacity {
                built.addAll(first.values, stashedValues, cohort: cohort)
                return built
            }
            if cohort { built.addCohort(first.values) } else { built.add(first.values) }
            for values in stashedValues {
                if cohort { built.addCohort(values) } else { built.add(values) }
            }
            return built
        }

        /// Frees what the aggregate's sketches hold and deinitializes it; its block goes
        /// back with the table's ``PromotedBlockPool``.
        func release() {
            guard let aggregate else { return }
            aggregate.pointee.release()
            aggregate.deinitialize(count: 1)
        }
    }

    /// Frames a busy series stashes before folding them into its aggregate: 32 × 64 B
    /// = 2 KiB a built series (``PromotedBlockPool/busyStashBytes``). A fold updates each
    /// histogram bucket its frames touch once per cache line it loads, and with a few
    /// thousand busy series those lines are mostly not in the caches: 32 frames a fold
    /// instead of 8 cost ~20 % less time a frame with 3,000 busy series, and ~10 % less of
    /// tallyd's CPU a frame end to end (Benchmarks/README.md, "A built series' stash of 32").
    public static let stashCapacity = 32

    /// Frames a series stashes before its aggregate is built (its second to 31st frames):
    /// its whole block (``PromotedBlockPool/blockBytes``, 1,920 B). Series of up to 31
    /// frames, most series that are not one frame, are built when their window seals, off
    /// the shard (``EngineMemory/promotedSeriesBytes`` is sized for their flush).
    public static let openStashCapacity = 30

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
        /// The blocks of the series past their first frame.
        @usableFromInline var blocks = PromotedBlockPool()
        /// The stashes of the series whose aggregate is built.
        @usableFromInline var busyStashes = PromotedBlockPool(bytesPerBlock: PromotedBlockPool.busyStashBytes)
        @usableFromInline var overflowEntry: Int? = nil
        @usableFromInline var frames: UInt64 = 0
        @usableFromInline var foldedFrames: UInt64 = 0
        @usableFromInline var foldedKeys = HyperLogLog(precision: 12)
        /// Keys admitted per producer number (room for `admittedCapacity` numbers; nil
        /// until the first admission), and how many producers admitted at least one.
        @usableFromInline var admittedBy: UnsafeMutablePointer<UInt32>? = nil
        @usableFromInline var admittedCapacity = 0
        @usableFromInline var producersAdmitting = 0
        /// Folded frames per producer number (touched only when a frame folds).
        @usableFromInline var foldedBy: [UInt32: UInt64] = [:]
        /// Frames folded because ``EngineMemory`` had no room (included in `foldedFrames`).
        @usableFromInline var foldedForMemory: UInt64 = 0
        /// Busy series refused histogram memory (they stay on their digests).
        @usableFromInline var histogramsRefused: UInt64 = 0
        /// Frames a cohort aggregate could not take (cap or memory).
        @usableFromInline var cohortsRefused: UInt64 = 0
        /// Series refused the bytes to build their aggregate (by entry address): capped at
        /// the frames they have for the rest of the window (``mayBuild(_:_:)``).
        @usableFromInline var capped: Set<UInt> = []
        /// Bytes reserved from ``EngineMemory`` for this table's series, in all and per
        /// producer number, released at deinit.
        @usableFromInline var reservedBytes = 0
        @usableFromInline var reservedBy: [Int: Int] = [:]
    }

    /// Keys admitted first come, first served: ½ of ``maxSeries``; the rest is kept for
    /// producers below their fair share. (¾ until December 2026: a fleet member with more
    /// keys than the last quarter, arriving after a flood, folded some of them.)
    public let sharedSeries: Int
    /// Producer numbers a table tells apart; higher numbers count as ``ProducerDirectory/unnumbered``.
    public static let maxProducerNumbers = 8_192

    /// Entries a page holds.
    public static let pageSize = 1 << pageShift
    /// log₂ ``pageSize``: ``entryPointer(_:)`` shifts and masks instead of dividing.
    public static let pageShift = 8
    @usableFromInline let state: UnsafeMutablePointer<State>

    public init(startMicros: UInt64, maxSeries: Int, sketches: SketchParameters, producers: ProducerDirectory? = nil,
                memory: EngineMemory? = nil, symbols: SymbolTable? = nil, heavyHitterCapacity: Int = 0,
                heavyHitterTag: String? = nil, cohortSummaries: SummarizedDigests = [], cohortCategories: Bool = true) {
        self.startMicros = startMicros
        self.cohortSummaries = cohortSummaries
        self.cohortCategories = cohortCategories
        self.producers = producers
        self.memory = memory
        self.symbols = symbols
        symbolLease = symbols?.openLease() ?? 0
        self.maxSeries = max(1, maxSeries)
        heavyHitters = heavyHitterCapacity > 0
            ? HeavyHitterTable(capacity: min(heavyHitterCapacity, 1_024), maxSlices: self.maxSeries,
                               tenantKey: heavyHitterTag) : nil
        sharedSeries = self.maxSeries - self.maxSeries / 2
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
        state.pointee.blocks.free()
        state.pointee.busyStashes.free()
        s.slots.deallocate()
        s.admittedBy?.deallocate()
        memory?.release(s.reservedBytes, byProducer: s.reservedBy)
        symbols?.closeLease(symbolLease)
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Frames added.
    public var frames: UInt64 { state.pointee.frames }
    /// Frames that went to the overflow series because the table was full.
    public var foldedFrames: UInt64 { state.pointee.foldedFrames }
    /// Distinct keys folded (estimated: an HLL over their routing hashes).
    public var foldedKeys: HyperLogLog { state.pointee.foldedKeys }
    /// Series held, the overflow series and the cohort aggregates included.
    public var seriesCount: Int { state.pointee.count }
    /// Folded frames by the producer number of their record (``ProducerDirectory``).
    public var foldedFramesByProducer: [UInt32: UInt64] { state.pointee.foldedBy }
    /// Of the folded frames, those folded because ``EngineMemory`` had no room.
    public var foldedForMemory: UInt64 { state.pointee.foldedForMemory }
    /// Busy series that ``EngineMemory`` refused room for histograms (``LiveSeriesAggregate``).
    public var histogramsRefused: UInt64 { state.pointee.histogramsRefused }
    /// Frames a cohort aggregate could not take: the table's cap or ``EngineMemory`` refused
    /// the aggregate (the frames are in their series all the same).
    public var cohortsRefused: UInt64 { state.pointee.cohortsRefused }

    /// Folds `record` into its series (or the overflow series), into the cohort
    /// aggregate of each of its breakdown tags (``SeriesKey/cohortKey(_:)``) and, when
    /// configured, into its slice's heavy hitters (``HeavyHitterTable``).
    public func add(_ record: FrameRecord) {
        withUnsafePointer(to: record) { add(at: $0) }
    }

    /// ``add(_:)`` of the record at `record`, read where it is: the shard folds a record in
    /// its ring slot (``SPSCRing/front()``). Copying the 168-byte record out of the ring
    /// first cost ~38 instructions a frame (callgrind, `aggregate-70k-no-teardown`).
    @inlinable
    public func add(at record: UnsafePointer<FrameRecord>) {
        state.pointee.frames &+= 1
        place(record)
        if record.pointee.key.breakdownCount != 0 { addToCohorts(record) }
        if heavyHitters != nil && (record.pointee.values.userHash != 0 || record.pointee.key.heavyHitterValue != SymbolTable.none) {
            addToHeavyHitters(record)
        }
    }

    /// Counts `record`'s user and tenant in its slice's heavy hitters, creating them at the
    /// slice's first such frame when the slice cap and ``EngineMemory`` allow; otherwise
    /// counts it refused.
    @usableFromInline @inline(never)
    func addToHeavyHitters(_ record: UnsafePointer<FrameRecord>) {
        guard let hitters = heavyHitters else { return }
        let slice = HeavyHitterTable.sliceKey(of: record.pointee.key)
        let hash = slice.routingHash
        let tenant = record.pointee.key.heavyHitterValue
        if let n = hitters.slot(of: slice, hash: hash) {
            hitters.add(record.pointee.values, tenant: tenant, to: n)
            return
        }
        guard hitters.hasRoom, reserve(hitters.bytesPerSlice, for: WindowTable.producerSlot(of: record)) else {
            hitters.refused &+= 1
            return
        }
        hitters.add(record.pointee.values, tenant: tenant, to: hitters.append(slice, hash: hash))
    }

    /// Frames with a user or a tenant whose slice's heavy hitters were refused (slice cap or memory).
    public var heavyHittersRefused: UInt64 { heavyHitters?.refused ?? 0 }

    /// The keys of the slices with heavy hitters, in the order they first appeared.
    public var heavyHitterSliceKeys: [SeriesKey] { heavyHitters?.slices.map(\.key) ?? [] }

    /// The symbols of the tenants the heavy-hitter summaries hold (the snapshot names them).
    public var heavyHitterTenantSymbols: Set<UInt32> {
        var symbols = Set<UInt32>()
        for slice in heavyHitters?.slices ?? [] {
            for summary in [slice.tenantsByRequests, slice.tenantsByCost] {
                for e in summary?.summary().entries ?? [] { symbols.insert(UInt32(truncatingIfNeeded: e.key)) }
            }
        }
        return symbols
    }

    /// Calls `body` with each slice's key and its heavy hitters (users by requests, by
    /// cost, and the heavy-hitter tag with its values by requests and by cost keyed by their
    /// symbols, nil without a heavy-hitter tag), in the order the slices first appeared; nothing when not configured.
    public func forEachHeavyHitterSlice<E: Error>(
        _ body: (SeriesKey, HeavyHitters, HeavyHitters, (tagKey: String, byRequests: HeavyHitters, byCost: HeavyHitters)?)
            throws(E) -> Void
    ) throws(E) {
        for slice in heavyHitters?.slices ?? [] {
            let tenants = heavyHitters?.tenantKey.map { ($0, slice.tenantsByRequests!.summary(), slice.tenantsByCost!.summary()) }
            try body(slice.key, slice.usersByRequests.summary(), slice.usersByCost.summary(), tenants)
        }
    }

    /// Feeds `record`'s cohort aggregates: for each breakdown tag, the record under that
    /// cohort's key (sessions left out: cohort aggregates keep no session count; the
    /// category too unless ``cohortCategories``).
    @usableFromInline @inline(never)
    func addToCohorts(_ record: UnsafePointer<FrameRecord>) {
        var cohort = record.pointee
        cohort.values.sessionHash = 0
        if !cohortCategories { cohort.values.categoryID = WireLimits.noCategory }
        // Every cohort key of the frame has its slice: the slice's share of the hash once.
        let sliceHash = record.pointee.key.sliceHash
        // The breakdown tags read where they are (`SeriesKey.tag(_:)` copied the 64-byte
        // tuple to the stack for each).
        let tags = UnsafeRawPointer(record) + MemoryLayout<FrameRecord>.offset(of: \FrameRecord.key.tags)!
        let first = Int(record.pointee.key.tagCount)
        for b in 0..<Int(record.pointee.key.breakdownCount) {
            cohort.key = record.pointee.key.cohortKey(packedTag: tags.load(fromByteOffset: (first &+ b) &* 8, as: UInt64.self))
            cohort.routingHash = cohort.key.routingHash(afterSlice: sliceHash)
            withUnsafePointer(to: &cohort) { place($0) }
        }
    }

    /// Adds the record at `record` to the entry of its key, admitting the key if new.
    @inlinable @inline(__always)
    func place(_ record: UnsafePointer<FrameRecord>) {
        let s = state
        let hash = record.pointee.routingHash
        var i = WindowTable.home(hash) & s.pointee.slotMask
        while true {
            let slot = s.pointee.slots[i]
            if slot.entry == 0 { break }
            if slot.hash == hash {
                let entry = entryPointer(Int(slot.entry) - 1)
                if entry.pointee.key == record.pointee.key {
                    if entry.pointee.stash != nil {
                        if entry.pointee.addToStash(record) { stashFilled(entry, record) }
                    } else {
                        promote(entry, record)
                    }
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

    @inlinable @inline(__always)
    func entryPointer(_ n: Int) -> UnsafeMutablePointer<Entry> {
        state.pointee.pages[n &>> WindowTable.pageShift] + (n & (WindowTable.pageSize &- 1))
    }

    /// A key not in the table: admit it at empty slot `slot`, or fold it.
    @usableFromInline
    func addNew(_ record: UnsafePointer<FrameRecord>, slot: Int) {
        let s = state
        let producer = WindowTable.producerSlot(of: record)
        if record.pointee.key.isCohort {
            // A cohort aggregate past the cap or the budget: the frame is already in its
            // series (or the overflow series), so it is only counted, never folded again.
            let admitted = s.pointee.count - (s.pointee.overflowEntry == nil ? 0 : 1)
            guard admitted < maxSeries && (admitted < sharedSeries || isWithinShare(producer)),
                  reserve(EngineMemory.oneFrameSeriesBytes, for: producer) else {
                s.pointee.cohortsRefused &+= 1
                return
            }
            countAdmission(producer)
            let n = append(record)
            s.pointee.slots[slot] = Slot(hash: record.pointee.routingHash, entry: UInt32(n + 1))
            if 2 * s.pointee.count > s.pointee.slotMask + 1 { growIndex() }
            return
        }
        // A key that is itself the overflow key (its model symbol overflowed the symbol
        // table) goes to the overflow series, counted as folded for its producer.
        if record.pointee.key == .overflow {
            fold(record, producer: producer, forMemory: false)
            return
        }
        let admitted = s.pointee.count - (s.pointee.overflowEntry == nil ? 0 : 1)
        guard admitted < maxSeries && (admitted < sharedSeries || isWithinShare(producer)) else {
            fold(record, producer: producer, forMemory: false)
            return
        }
        guard reserve(EngineMemory.oneFrameSeriesBytes, for: producer) else {
            fold(record, producer: producer, forMemory: true)
            return
        }
        countAdmission(producer)
        let n = append(record)
        s.pointee.slots[slot] = Slot(hash: record.pointee.routingHash, entry: UInt32(n + 1))
        if 2 * s.pointee.count > s.pointee.slotMask + 1 { growIndex() }
    }

    /// The second frame of an admitted series: gives it its block (``Entry/promote(_:pool:)``)
    /// when ``EngineMemory`` has room for it (``EngineMemory/promotedSeriesBytes``), else
    /// folds the frame (the series keeps its first frame).
    /// A series refused once stays at its first frame for the rest of this window
    /// (``Entry/refusedStash`` in its unused stash count), so that its later frames fold
    /// without taking ``EngineMemory``'s lock each.
    @usableFromInline @inline(never)
    func promote(_ entry: UnsafeMutablePointer<Entry>, _ record: UnsafePointer<FrameRecord>) {
        let producer = WindowTable.producerSlot(of: record)
        guard entry.pointee.stashed != Entry.refusedStash, reserve(EngineMemory.promotedSeriesBytes, for: producer) else {
            entry.pointee.stashed = Entry.refusedStash
            if record.pointee.key.isCohort {
                state.pointee.cohortsRefused &+= 1
            } else {
                fold(record, producer: producer, forMemory: true)
            }
            return
        }
        entry.pointee.promote(record, pool: &state.pointee.blocks)
    }

    /// A promoted series' stash is full: builds its aggregate from the open stash the first
    /// time, later folds the stash, and settles an allowance when the aggregate asks for
    /// one. Once every ``stashCapacity`` frames of a series, never per frame.
    @usableFromInline @inline(never)
    func stashFilled(_ entry: UnsafeMutablePointer<Entry>, _ record: UnsafePointer<FrameRecord>) {
        if entry.pointee.aggregate == nil {
            guard mayBuild(entry, record) else { return }
            entry.pointee.build(sketches: sketches, summaries: cohortSummaries, stashes: &state.pointee.busyStashes)
        } else {
            entry.pointee.fold()
        }
        let aggregate = entry.pointee.aggregate.unsafelyUnwrapped
        if aggregate.pointee.wantsAllowance { settleAllowance(aggregate, record) }
    }

    /// A series' open stash is full and its aggregate is to be built: it reserves the rest of
    /// a busy series' bytes (``EngineMemory/busySeriesBytes`` less the
    /// ``EngineMemory/promotedSeriesBytes`` its second frame reserved). Refused, the series is
    /// **capped** for the rest of the window: it keeps the frames it has but the one that
    /// filled its stash, which is taken back out and folded (`frames.folded_memory`; a
    /// cohort's is counted as refused), and so is each later frame, written to the stash's
    /// last slot and taken back out here, without the memory's lock (a set lookup). The
    /// overflow series is outside the limit.
    private func mayBuild(_ entry: UnsafeMutablePointer<Entry>, _ record: UnsafePointer<FrameRecord>) -> Bool {
        guard memory != nil, state.pointee.overflowEntry.map({ entryPointer($0) }) != entry else { return true }
        let address = UInt(bitPattern: entry)
        let producer = WindowTable.producerSlot(of: record)
        if state.pointee.capped.isEmpty || !state.pointee.capped.contains(address) {
            if reserve(EngineMemory.busySeriesBytes - EngineMemory.promotedSeriesBytes, for: producer) { return true }
            state.pointee.capped.insert(address)
        }
        entry.pointee.stashed &-= 1  // trivial values: nothing to release
        if record.pointee.key.isCohort {
            state.pointee.cohortsRefused &+= 1
        } else {
            fold(record, producer: producer, forMemory: true)
        }
        return false
    }

    /// A busy series' histograms ask for memory (``LiveSeriesAggregate``): reserves
    /// ``LiveSeriesAggregate/allowanceChunkBytes`` for the producer of `record` and grants
    /// them, or caps the series for the rest of the window. Runs after a stash fold, at most
    /// a few times a series and window, never per frame.
    func settleAllowance(_ aggregate: UnsafeMutablePointer<LiveSeriesAggregate>, _ record: UnsafePointer<FrameRecord>) {
        let bytes = LiveSeriesAggregate.allowanceChunkBytes
        if reserve(bytes, for: WindowTable.producerSlot(of: record)) {
            aggregate.pointee.grant(bytes)
        } else {
            aggregate.pointee.refuse()
            state.pointee.histogramsRefused &+= 1
        }
    }

    /// Reserves `bytes` for a series of `producer` from ``EngineMemory`` (always granted
    /// without one).
    private func reserve(_ bytes: Int, for producer: Int) -> Bool {
        guard let memory else { return true }
        guard memory.reserve(bytes, producer: producer) else { return false }
        state.pointee.reservedBytes += bytes
        state.pointee.reservedBy[producer, default: 0] += bytes
        return true
    }

    /// Counts `record` as folded (by producer, and whether for memory) and adds it to the
    /// overflow series.
    private func fold(_ record: UnsafePointer<FrameRecord>, producer: Int, forMemory: Bool) {
        let s = state
        s.pointee.foldedFrames &+= 1
        s.pointee.foldedKeys.insert(record.pointee.routingHash)
        s.pointee.foldedBy[UInt32(producer), default: 0] &+= 1
        if forMemory { s.pointee.foldedForMemory &+= 1 }
        addToOverflow(record)
    }

    /// Adds `record` to the overflow series, admitted beyond the cap and outside the memory
    /// limit (at most one a table: ≤ 35 KiB a table past ``EngineMemory``'s limit), and found
    /// through `overflowEntry`, not the index.
    private func addToOverflow(_ record: UnsafePointer<FrameRecord>) {
        let s = state
        guard let n = s.pointee.overflowEntry else {
            var first = record.pointee
            first.key = .overflow
            s.pointee.overflowEntry = withUnsafePointer(to: &first) { append($0) }
            return
        }
        let entry = entryPointer(n)
        if entry.pointee.stash != nil {
            if entry.pointee.addToStash(record) { stashFilled(entry, record) }
        } else {
            entry.pointee.promote(record, pool: &state.pointee.blocks)
        }
    }

    /// The producer number of `record` as this table counts it (numbers past
    /// ``maxProducerNumbers`` count as ``ProducerDirectory/unnumbered``).
    private static func producerSlot(of record: UnsafePointer<FrameRecord>) -> Int {
        let producer = Int(record.pointee.producer)
        return producer < maxProducerNumbers ? producer : Int(ProducerDirectory.unnumbered)
    }

    /// Keys `producer` has admitted in this table.
    private func admitted(by producer: Int) -> Int {
        producer < state.pointee.admittedCapacity ? Int(state.pointee.admittedBy![producer]) : 0
    }

    /// Whether `producer` is below its fair share: ``maxSeries`` divided by the producers
    /// that admitted keys (itself included) or by the producers active now, whichever is more.
    private func isWithinShare(_ producer: Int) -> Bool {
        let mine = admitted(by: producer)
        let admitting = state.pointee.producersAdmitting + (mine == 0 ? 1 : 0)
        return mine < ProducerDirectory.fairShare(of: maxSeries, holders: admitting, active: producers?.active ?? 0)
    }

    /// Counts one key admitted for `producer`, growing the per-producer counts when needed.
    private func countAdmission(_ producer: Int) {
        let s = state
        if producer >= s.pointee.admittedCapacity {
            var capacity = max(16, s.pointee.admittedCapacity)
            while capacity <= producer { capacity *= 2 }
            let counts = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
            counts.initialize(repeating: 0, count: capacity)
            if let old = s.pointee.admittedBy {
                counts.update(from: old, count: s.pointee.admittedCapacity)
                old.deallocate()
            }
            s.pointee.admittedBy = counts
            s.pointee.admittedCapacity = capacity
        }
        let counts = s.pointee.admittedBy!
        if counts[producer] == 0 { s.pointee.producersAdmitting += 1 }
        counts[producer] &+= 1
    }

    /// Appends an entry holding the record at `first`; returns its number.
    private func append(_ first: UnsafePointer<FrameRecord>) -> Int {
        let s = state
        let n = s.pointee.count
        if n % WindowTable.pageSize == 0 {
            s.pointee.pages.append(.allocate(capacity: WindowTable.pageSize))
        }
        (s.pointee.pages[n / WindowTable.pageSize] + n % WindowTable.pageSize)
            .initialize(to: Entry(first: first.pointee))
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

    /// Adds every symbol a snapshot of this table names: each series' labels, tags and error
    /// classes, the heavy-hitter slices' labels and tenants. Seals nothing (a busy series'
    /// seal turns seven histograms into digests: the snapshot does that once, after this).
    public func collectSymbols(into used: inout SymbolSet) {
        for n in 0..<seriesCount {
            let entry = entryPointer(n)
            let key = entry.pointee.key
            // One insert each: `formUnion` of an array literal allocated the array per series.
            used.insert(key.model); used.insert(key.modelVersion); used.insert(key.promptVersion); used.insert(key.route)
            for i in 0..<Int(key.tagCount) { let (k, v) = key.tag(i); used.insert(k); used.insert(v) }
            if let aggregate = entry.pointee.aggregate {
                entry.pointee.fold()  // the stashed frames' error classes into the aggregate
                for symbol in aggregate.pointee.base.errorClasses.keys { used.insert(symbol) }
                continue
            }
            // Not built: the first frame's error class and the stashed frames'.
            if entry.pointee.first.values.errorClass != SymbolTable.none { used.insert(entry.pointee.first.values.errorClass) }
            for values in entry.pointee.stashedValues where values.errorClass != SymbolTable.none {
                used.insert(values.errorClass)
            }
        }
        for key in heavyHitterSliceKeys {
            used.insert(key.model); used.insert(key.modelVersion); used.insert(key.promptVersion); used.insert(key.route)
        }
        for symbol in heavyHitterTenantSymbols { used.insert(symbol) }
    }

    /// Calls `body` with every series in admission order. The aggregate is `body`'s to keep
    /// (`consuming`): a snapshot moves it into its series instead of copying it (a copy
    /// retains its ~14 buffers, ~800 instructions).
    public func forEachSeries<E: Error>(_ body: (SeriesKey, consuming SeriesAggregate) throws(E) -> Void) throws(E) {
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
