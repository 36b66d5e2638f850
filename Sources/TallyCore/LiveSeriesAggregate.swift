import TallySketches
import TallyWire

/// A series' aggregate while its window is open, in a ``WindowTable``: a ``SeriesAggregate``
/// whose seven value distributions have a ``HistogramFrontEnd`` each, through which a busy
/// series feeds them (~40 instructions a value, December 7) instead of its t-digests' buffers and merge
/// passes (~200). ``sealed(_:)`` turns it into the ``SeriesAggregate`` a snapshot carries.
///
/// **Phases.** A series starts *collecting*: values go to its digests, which hold their first
/// four values without a buffer (``TDigest/holdsSmallValues``) and the next ones in their
/// buffers, unmerged (series with a few frames, most of them, never pay for a histogram, and
/// up to four frames not for a buffer either). At ``bucketingThreshold`` requests (checked when a
/// stash is folded, so from the 95th frame with ``WindowTable/stashCapacity`` = 32) its table
/// asks its memory budget for ``allowanceChunkBytes`` (``wantsAllowance``): granted, the
/// series is *bucketing*; refused, it is *capped* and stays on its digests (correct, bounded,
/// slower). A bucketing series whose histograms need more room asks again after the burst of
/// frames that needed it; values that did not fit went to the digests meanwhile, so nothing
/// is lost, and the histograms never hold more than was granted.
///
/// Owned through a pointer by one table entry, which calls ``release()`` before its table's
/// ``PromotedBlockPool`` frees the block it sits in.
@usableFromInline
struct LiveSeriesAggregate {
    enum Phase: UInt8 { case collecting, bucketing, capped }

    /// Counters, distinct counts, categories, and the digests behind the front ends.
    var base: SeriesAggregate
    var queueTime = HistogramFrontEnd(.integer)
    var timeToFirstToken = HistogramFrontEnd(.integer)
    var totalLatency = HistogramFrontEnd(.integer)
    var timePerOutputToken = HistogramFrontEnd(.float)
    var inputTokens = HistogramFrontEnd(.integer)
    var outputTokens = HistogramFrontEnd(.integer)
    var cost = HistogramFrontEnd(.float)
    /// Whether the front ends bucket, and the bytes their histograms may still grow by;
    /// refilled by the table.
    var allowance = HistogramAllowance(bucketing: false)
    var phase = Phase.collecting
    /// Where each category sits in the base's sorted category list, by the id's low six
    /// bits (a direct-mapped cache, 64 bytes; ``noPosition``: unknown). A hit costs two
    /// compares instead of the list's bisection (~90 instructions a frame in
    /// `aggregate-100`). An entry is only a hint: it counts only where the list holds
    /// that id, so entries left stale by a later insert (which shifts the list) or by
    /// another id with the same low bits just miss.
    var categoryPositions = InlineArray<64, UInt8>(repeating: LiveSeriesAggregate.noPosition)
    static let noPosition = UInt8.max

    /// Requests after which a series asks for histograms: past the digests' exact limit
    /// (δ/2 = 50), below their 248-value buffer, so a collecting series never merges.
    static let bucketingThreshold: UInt64 = 64
    /// Bytes asked of the memory budget at a time (2,048 buckets over the seven histograms).
    static let allowanceChunkBytes = 16 << 10

    /// A cohort aggregate (``SeriesKey/isCohort``) keeps no time per output token and no
    /// sessions (``SeriesAggregate/addCohort(_:)``).
    let cohort: Bool
    /// A cohort aggregate's distributions kept as summaries (``SummarizedDigests``): their
    /// values go straight into their digests' exact statistics
    /// (``TDigest/insertIntoStatistics(_:)``), past the front ends, and ``sealed(_:)`` places
    /// each summary's centroid once. Empty for series.
    let summaries: SummarizedDigests

    @inline(__always)
    init(sketches: SketchParameters, cohort: Bool = false, summaries: SummarizedDigests = []) {
        base = SeriesAggregate(sketches: sketches)
        self.cohort = cohort
        self.summaries = cohort ? summaries.intersection(.valid) : []
    }

    /// Folds one request in.
    @inline(__always)
    mutating func add(_ r: FrameValues) {
        if summaries.isEmpty { addWithoutSummaries(r) } else { addSummarizing(r) }
    }

    /// Folds the frames of a stash in, in order: ``add(_:)`` of each, with whether the
    /// aggregate has summaries asked once.
    @inline(__always)
    mutating func add(contentsOf frames: UnsafeBufferPointer<FrameValues>) {
        if summaries.isEmpty {
            for r in frames { addWithoutSummaries(r) }
        } else {
            for r in frames { addSummarizing(r) }
        }
    }

    /// ``add(_:)`` for a series, or a cohort aggregate without summaries.
    @inline(__always)
    mutating func addWithoutSummaries(_ r: FrameValues) {
        base.addCountingInline(r, categories: false)
        if r.categoryID != WireLimits.noCategory { addCategory(r.categoryID) }
        // Whether the front ends bucket, read once for the seven (each front end's own
        // check reloaded it after every insert).
        if !allowance.bucketing {
            addToDigests(r)
            return
        }
        queueTime.insertBucketing(integer: r.queueTimeMicros, digest: &base.queueTime, allowance: &allowance)
        if r.timeToFirstTokenMicros != WireLimits.absent32 {
            timeToFirstToken.insertBucketing(integer: r.timeToFirstTokenMicros, digest: &base.timeToFirstToken,
                                             allowance: &allowance)
        }
        totalLatency.insertBucketing(integer: r.totalLatencyMicros, digest: &base.totalLatency, allowance: &allowance)
        if !cohort, let tpot = r.timePerOutputTokenMicros {
            timePerOutputToken.insertBucketing(tpot, digest: &base.timePerOutputToken, allowance: &allowance)
        }
        inputTokens.insertBucketing(integer: r.inputTokens, digest: &base.inputTokens, allowance: &allowance)
        outputTokens.insertBucketing(integer: r.outputTokens, digest: &base.outputTokens, allowance: &allowance)
        if !r.cost.isNaN { cost.insertBucketing(r.cost, digest: &base.cost, allowance: &allowance) }
    }

    /// The seven distributions of ``add(_:)`` straight into the digests (not bucketing: a
    /// series below its ``bucketingThreshold``th request, or capped). Out of line, so the
    /// bucketing path's registers are not spent on it.
    @inline(never)
    mutating func addToDigests(_ r: FrameValues) {
        base.queueTime.insert(integer: r.queueTimeMicros)
        if r.timeToFirstTokenMicros != WireLimits.absent32 { base.timeToFirstToken.insert(integer: r.timeToFirstTokenMicros) }
        base.totalLatency.insert(integer: r.totalLatencyMicros)
        if !cohort, let tpot = r.timePerOutputTokenMicros { base.timePerOutputToken.insert(tpot) }
        base.inputTokens.insert(integer: r.inputTokens)
        base.outputTokens.insert(integer: r.outputTokens)
        if !r.cost.isNaN { base.cost.insert(r.cost) }
    }

    /// ``add(_:)`` for a cohort aggregate with summaries: each distribution in
    /// ``summaries`` takes the value as a summary, the others through their front ends.
    @inline(__always)
    mutating func addSummarizing(_ r: FrameValues) {
        base.addCounting(r, categories: false)
        if r.categoryID != WireLimits.noCategory { addCategory(r.categoryID) }
        if summaries.contains(.queueTime) {
            base.queueTime.insertIntoStatistics(Double(r.queueTimeMicros))
        } else {
            queueTime.insert(integer: r.queueTimeMicros, digest: &base.queueTime, allowance: &allowance)
        }
        if r.timeToFirstTokenMicros != WireLimits.absent32 {
            if summaries.contains(.timeToFirstToken) {
                base.timeToFirstToken.insertIntoStatistics(Double(r.timeToFirstTokenMicros))
            } else {
                timeToFirstToken.insert(integer: r.timeToFirstTokenMicros, digest: &base.timeToFirstToken,
                                        allowance: &allowance)
            }
        }
        if summaries.contains(.totalLatency) {
            base.totalLatency.insertIntoStatistics(Double(r.totalLatencyMicros))
        } else {
            totalLatency.insert(integer: r.totalLatencyMicros, digest: &base.totalLatency, allowance: &allowance)
        }
        if summaries.contains(.inputTokens) {
            base.inputTokens.insertIntoStatistics(Double(r.inputTokens))
        } else {
            inputTokens.insert(integer: r.inputTokens, digest: &base.inputTokens, allowance: &allowance)
        }
        if summaries.contains(.outputTokens) {
            base.outputTokens.insertIntoStatistics(Double(r.outputTokens))
        } else {
            outputTokens.insert(integer: r.outputTokens, digest: &base.outputTokens, allowance: &allowance)
        }
        if !r.cost.isNaN {
            if summaries.contains(.cost) {
                base.cost.insertIntoStatistics(r.cost)
            } else {
                cost.insert(r.cost, digest: &base.cost, allowance: &allowance)
            }
        }
    }

    /// Counts one request of `category`, found through ``categoryPositions`` when cached.
    @inline(__always)
    mutating func addCategory(_ category: UInt16) {
        let slot = Int(category & 63)
        let cached = Int(categoryPositions[slot])
        // One uniqueness check and one bounds check for the hit (a read, then a subscript
        // write, took two of each).
        let counted = base.categoryEntries.withUnsafeMutableBufferPointer { entries in
            guard cached < entries.count && entries[cached].id == category else { return false }
            entries[cached].count &+= 1
            return true
        }
        if counted { return }
        if let position = base.addCategory(category, count: 1) {
            categoryPositions[slot] = UInt8(truncatingIfNeeded: position)
        }
    }

    /// Whether the table should ask its budget for bytes now: a collecting series past the
    /// threshold, or a bucketing one whose histograms refused a value for want of room.
    @usableFromInline var wantsAllowance: Bool {
        switch phase {
        case .collecting: base.requests >= LiveSeriesAggregate.bucketingThreshold
        case .bucketing: allowance.wanted
        case .capped: false
        }
    }

    /// The table granted `bytes` more: a collecting series starts bucketing.
    mutating func grant(_ bytes: Int) {
        if phase == .collecting {
            phase = .bucketing
            allowance.bucketing = true
            HistogramFrontEnd.prepare(&base.queueTime)
            HistogramFrontEnd.prepare(&base.timeToFirstToken)
            HistogramFrontEnd.prepare(&base.totalLatency)
            HistogramFrontEnd.prepare(&base.timePerOutputToken)
            HistogramFrontEnd.prepare(&base.inputTokens)
            HistogramFrontEnd.prepare(&base.outputTokens)
            HistogramFrontEnd.prepare(&base.cost)
        }
        allowance.bytes += bytes
        allowance.wanted = false
    }

    /// The table had no room: the series keeps what it has and asks no more this window.
    mutating func refuse() {
        phase = .capped
        allowance.wanted = false
    }

    /// The aggregate a snapshot carries: each digest with its front end's values merged in,
    /// each of a cohort's ``summaries`` settled (``TDigest/summarized()``: until now they held
    /// their statistics alone). Read through the pointer its table entry holds: a method
    /// called on `pointee` copied the whole live aggregate first (~900 instructions a series).
    static func sealed(_ live: UnsafePointer<LiveSeriesAggregate>) -> SeriesAggregate {
        let summaries = live.pointee.summaries
        // A collecting series never bucketed: its digests hold everything (most series of
        // a window). Replacing each digest by itself cost a retain and a release apiece.
        if live.pointee.phase == .collecting {
            if summaries.isEmpty { return live.pointee.base }
            var result = live.pointee.base
            summaries.apply(to: &result)
            return result
        }
        var result = live.pointee.base
        result.queueTime = live.pointee.queueTime.sealed(result.queueTime)
        result.timeToFirstToken = live.pointee.timeToFirstToken.sealed(result.timeToFirstToken)
        result.totalLatency = live.pointee.totalLatency.sealed(result.totalLatency)
        result.timePerOutputToken = live.pointee.timePerOutputToken.sealed(result.timePerOutputToken)
        result.inputTokens = live.pointee.inputTokens.sealed(result.inputTokens)
        result.outputTokens = live.pointee.outputTokens.sealed(result.outputTokens)
        result.cost = live.pointee.cost.sealed(result.cost)
        if !summaries.isEmpty { summaries.apply(to: &result) }
        return result
    }

    /// Frees the histograms' blocks. A collecting series never bucketed, so its histograms
    /// hold none (every series before it buckets: seven calls saved, ~90 instructions).
    mutating func release() {
        if phase == .collecting { return }
        queueTime.release(); timeToFirstToken.release(); totalLatency.release(); timePerOutputToken.release()
        inputTokens.release(); outputTokens.release(); cost.release()
    }
}
