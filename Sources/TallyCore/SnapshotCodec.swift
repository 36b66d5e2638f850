import TallySketches
import TallyWire

/// The binary form of a ``Snapshot`` (SNAPSHOT.md is the specification), with its
/// optional cohort section (flags bit 0) and heavy-hitter section (flags bit 1).
/// Writes version 2 (compact digests and numbers) unless asked for version 1; reads
/// both. Decoding validates everything and throws ``SnapshotCodecError`` naming the
/// first fault; it never traps on bad bytes.
public enum SnapshotCodec {
    public static let magic: [UInt8] = Array("TLYS".utf8)
    /// Versions ``decode(_:)`` and ``window(of:)`` accept.
    public static let readableVersions: ClosedRange<UInt8> = 1...2

    /// The snapshot's bytes in `version` (2, the default, or 1 for readers that know
    /// only it); version 2 rounds digest means to `meanKeyBits` (12 … 28) bits.
    public static func encode(_ snapshot: Snapshot, version: UInt8 = Snapshot.formatVersion,
                              meanKeyBits: Int = TDigest.compactMeanKeyBits) -> [UInt8] {
        precondition(readableVersions.contains(version) && TDigest.compactMeanKeyBitsRange.contains(meanKeyBits))
        let format = Format(version: version, meanKeyBits: meanKeyBits)
        var strings = StringTableBuilder()
        // Series by pointer: `for series in …`, a subscript or a buffer element passed as an
        // argument copied each series (~1,600 instructions: a dozen retains and releases).
        func addStrings(of series: UnsafePointer<SnapshotSeries>) {
            strings.add(series.pointee.labels.model); strings.add(series.pointee.labels.modelVersion)
            strings.add(series.pointee.labels.promptVersion); strings.add(series.pointee.labels.route)
            for tag in series.pointee.labels.tags { strings.add(tag.key); strings.add(tag.value) }
            if !series.pointee.errorClasses.isEmpty {
                for name in series.pointee.errorClasses.keys.sorted() { strings.add(name) }
            }
        }
        snapshot.series.withUnsafeBufferPointer { all in for i in all.indices { addStrings(of: all.baseAddress! + i) } }
        snapshot.cohorts.withUnsafeBufferPointer { all in for i in all.indices { addStrings(of: all.baseAddress! + i) } }
        for slice in snapshot.heavyHitters {
            let l = slice.labels
            for s in [l.model, l.modelVersion, l.promptVersion, l.route] { strings.add(s) }
            if let tenants = slice.tenants {
                strings.add(tenants.tagKey)
                for (_, name) in tenants.names.sorted(by: { $0.key < $1.key }) { strings.add(name) }
            }
        }
        strings.add(snapshot.collectorID)
        for range in snapshot.sequences { strings.add(range.collectorID) }
        for name in snapshot.counters.keys.sorted() { strings.add(name) }

        var w = SnapshotWriter()
        w.bytes += magic
        w.u8(version)
        let hasTenants = snapshot.heavyHitters.contains { $0.tenants != nil }
        // Cost summaries in units of 2^-32 USD (v2), unless a weight is too large to scale
        // (W bounds every estimate and error of its summary).
        let costUnits = format.compact && !snapshot.heavyHitters.isEmpty
            && snapshot.heavyHitters.allSatisfy { slice in
                HeavyHitterCost.isWritable(slice.usersByCost.totalWeight)
                    && HeavyHitterCost.isWritable(slice.tenants?.byCost.totalWeight ?? 0)
            }
        let costScale = costUnits ? HeavyHitterCost.unitsPerDollar : 1
        w.u8((snapshot.cohorts.isEmpty ? 0 : SnapshotCodec.cohortsFlag)
             | (snapshot.heavyHitters.isEmpty ? 0 : SnapshotCodec.heavyHittersFlag)
             | (hasTenants ? SnapshotCodec.tenantsFlag : 0)
             | (costUnits ? SnapshotCodec.costUnitsFlag : 0))   // flags
        // cohort_summaries, with bit 7 when version 2 writes them lean (no centroids)
        let summaries = snapshot.cohorts.isEmpty ? [] : snapshot.cohortSummaries.intersection(.valid)
        let leanSummaries: SummarizedDigests = format.compact ? summaries : []
        w.u8(summaries.rawValue | (leanSummaries.isEmpty ? 0 : SnapshotCodec.leanSummariesBit))
        w.u8(0)  // reserved
        w.u64(snapshot.windowStartMicros)
        w.u64(snapshot.windowEndMicros)
        w.varint(UInt64(strings.strings.count))
        for s in strings.strings { w.varint(UInt64(s.utf8.count)); w.bytes += s.utf8 }
        w.varint(strings.ref(snapshot.collectorID))
        w.varint(UInt64(snapshot.sequences.count))
        for range in snapshot.sequences {
            w.varint(strings.ref(range.collectorID)); w.varint(range.first); w.varint(range.last)
        }
        let p = snapshot.sketches
        w.varint(UInt64(p.compression)); w.u8(p.scale.rawValue); w.varint(UInt64(p.digestBuffer)); w.u8(UInt8(p.hllPrecision))
        if format.compact { w.u8(UInt8(meanKeyBits)) }
        let counterNames = snapshot.counters.keys.sorted()
        w.varint(UInt64(counterNames.count))
        for name in counterNames { w.varint(strings.ref(name)); w.varint(snapshot.counters[name]!) }
        w.varint(UInt64(snapshot.series.count))
        snapshot.series.withUnsafeBufferPointer { all in
            for i in all.indices { encode(all.baseAddress! + i, strings: strings, format: format, into: &w) }
        }
        if !snapshot.cohorts.isEmpty {
            w.varint(UInt64(snapshot.cohorts.count))
            snapshot.cohorts.withUnsafeBufferPointer { all in
                for i in all.indices {
                    encode(all.baseAddress! + i, strings: strings, format: format, leanSummaries: leanSummaries, into: &w)
                }
            }
        }
        if w.wroteEmptySketch { w.bytes[5] |= SnapshotCodec.emptySketchesFlag }
        if !snapshot.heavyHitters.isEmpty {
            w.varint(UInt64(snapshot.heavyHitters.count))
            for slice in snapshot.heavyHitters {
                let l = slice.labels
                for s in [l.model, l.modelVersion, l.promptVersion, l.route] { w.varint(strings.ref(s)) }
                w.u8(l.ring.rawValue)
                w.varint(UInt64(slice.capacity))
                for (summary, scale) in [(slice.usersByRequests, 1), (slice.usersByCost, costScale)] {
                    w.weight(summary.totalWeight * scale, format)
                    let entries = summary.entries
                    w.varint(UInt64(entries.count))
                    for e in entries { w.u64(e.key); w.weight(e.estimate * scale, format); w.weight(e.error * scale, format) }
                }
                guard hasTenants else { continue }
                guard let tenants = slice.tenants else {
                    w.varint(0)  // tenant_key "": this slice ranks no tenants
                    continue
                }
                w.varint(strings.ref(tenants.tagKey))
                for (summary, scale) in [(tenants.byRequests, 1), (tenants.byCost, costScale)] {
                    w.weight(summary.totalWeight * scale, format)
                    let entries = summary.entries
                    w.varint(UInt64(entries.count))
                    for e in entries {
                        w.varint(strings.ref(tenants.names[e.key] ?? ""))
                        w.weight(e.estimate * scale, format); w.weight(e.error * scale, format)
                    }
                }
            }
        }
        return w.bytes
    }

    /// Flags bit 0: a cohort section follows the series (SNAPSHOT.md, "Cohort aggregates").
    public static let cohortsFlag: UInt8 = 1
    /// Flags bit 1: a heavy-hitter section follows (SNAPSHOT.md, "Heavy hitters").
    public static let heavyHittersFlag: UInt8 = 2
    /// Flags bit 2 (with bit 1): every slice of the heavy-hitter section has a tenant part.
    public static let tenantsFlag: UInt8 = 4
    /// Flags bit 3 (version 2, with bit 1): the cost summaries' weights are written in units
    /// of 2⁻³² USD (``HeavyHitterCost``).
    public static let costUnitsFlag: UInt8 = 8
    /// Flags bit 4 (version 2): some sketch of a series or cohort record was written as
    /// zero bytes, which stands for an empty sketch of the header's parameters (SNAPSHOT.md,
    /// "Empty sketches"). Set by a writer only when it wrote one.
    public static let emptySketchesFlag: UInt8 = 16
    /// `cohort_summaries` bit 7 (version 2, with a summary bit): the summaries are written
    /// lean (``TDigest/compactSummarySerialize(at:appendingTo:)``), without centroids.
    public static let leanSummariesBit: UInt8 = 0x80

    /// What differs between the versions: v2 writes compact digests and numbers.
    struct Format {
        let version: UInt8
        let meanKeyBits: Int
        /// Reading: whether a zero-length sketch stands for an empty one (flags bit 4).
        var emptySketches = false
        var compact: Bool { version >= 2 }
    }

    /// Where a series' seven digests are in a ``SnapshotSeries``, in the order they are written
    /// (SNAPSHOT.md): queue time, time to first token, total latency, time per output token,
    /// input tokens, output tokens, cost. Computed once: a key path's offset is looked up at
    /// run time (~300 Ir a digest).
    static let digestOffsets: [Int] = [
        \SnapshotSeries.aggregate.queueTime, \.aggregate.timeToFirstToken, \.aggregate.totalLatency,
        \.aggregate.timePerOutputToken, \.aggregate.inputTokens, \.aggregate.outputTokens, \.aggregate.cost,
    ].map { MemoryLayout<SnapshotSeries>.offset(of: $0)! }
    /// Where its users and sessions HyperLogLogs are, in that order (read in place the same way).
    static let hyperLogLogOffsets: [Int] = [\SnapshotSeries.aggregate.users, \.aggregate.sessions]
        .map { MemoryLayout<SnapshotSeries>.offset(of: $0)! }

    /// One series, read through a pointer into the snapshot's array (see ``encode(_:version:meanKeyBits:)``);
    /// the digests in `leanSummaries` (a cohort's summaries, version 2) in the lean form.
    static func encode(_ series: UnsafePointer<SnapshotSeries>, strings: StringTableBuilder, format: Format,
                       leanSummaries: SummarizedDigests = [], into w: inout SnapshotWriter) {
        // No temporary arrays here: each costs an allocation (with a generic-metadata lookup)
        // per series, which for a one-frame series was most of its encoding. No copies of the
        // labels or the aggregate either (`let a = series.aggregate` retained its ~14 buffers):
        // every field is read through `series.pointee`.
        w.varint(strings.ref(series.pointee.labels.model))
        w.varint(strings.ref(series.pointee.labels.modelVersion))
        w.varint(strings.ref(series.pointee.labels.promptVersion))
        w.varint(strings.ref(series.pointee.labels.route))
        w.u8(series.pointee.labels.ring.rawValue)
        w.u8(UInt8(series.pointee.labels.tags.count))
        for tag in series.pointee.labels.tags { w.varint(strings.ref(tag.key)); w.varint(strings.ref(tag.value)) }
        w.varint(series.pointee.aggregate.requests)
        for i in 0..<6 { w.varint(series.pointee.aggregate.statusCount(i)) }
        w.varint(UInt64(series.pointee.errorClasses.count))
        if !series.pointee.errorClasses.isEmpty {
            for name in series.pointee.errorClasses.keys.sorted() {
                w.varint(strings.ref(name))
                w.varint(series.pointee.errorClasses[name]!)
            }
        }
        w.varint(series.pointee.aggregate.refusals)
        w.varint(series.pointee.aggregate.escalations)
        w.varint(series.pointee.aggregate.fallbacks)
        for i in 0..<3 { w.varint(series.pointee.aggregate.taskOutcomeCount(i)) }
        w.varint(series.pointee.aggregate.feedbackUp)
        w.varint(series.pointee.aggregate.feedbackDown)
        for i in 1..<5 { w.varint(series.pointee.aggregate.safetyCount(i)) }
        var kindMask: UInt64 = 0
        for bit in 0..<16 where series.pointee.aggregate.safetyKindCount(bit) > 0 { kindMask |= 1 << UInt64(bit) }
        w.varint(kindMask)
        for bit in 0..<16 where series.pointee.aggregate.safetyKindCount(bit) > 0 {
            w.varint(series.pointee.aggregate.safetyKindCount(bit))
        }
        w.varint(series.pointee.aggregate.unpriced)
        w.varint(series.pointee.aggregate.cachedInputTokens)
        // Each digest and HyperLogLog read in place through its address in the series (a
        // method call on `series.pointee.aggregate.…` copied the sketch first: ~150 Ir each).
        // Version 2 writes an empty sketch as zero bytes (flags bit 4): a cohort never has a
        // time per output token or sessions, and many series have no cost or first token.
        for (d, offset) in SnapshotCodec.digestOffsets.enumerated() {
            let digest = (UnsafeRawPointer(series) + offset).assumingMemoryBound(to: TDigest.self)
            if format.compact && digest.pointee.count == 0 && digest.pointee.rejected == 0 {
                w.emptySketch()
                continue
            }
            w.lengthPrefixed {
                if !leanSummaries.isEmpty && leanSummaries.rawValue >> UInt8(d) & 1 != 0 {
                    TDigest.compactSummarySerialize(at: digest, appendingTo: &$0)
                } else if format.compact {
                    TDigest.compactSerialize(at: digest, meanKeyBits: format.meanKeyBits, appendingTo: &$0)
                } else {
                    digest.pointee.serialize(appendingTo: &$0)
                }
            }
        }
        for offset in SnapshotCodec.hyperLogLogOffsets {
            let sketch = (UnsafeRawPointer(series) + offset).assumingMemoryBound(to: HyperLogLog.self)
            if format.compact && sketch.pointee.isEmpty {
                w.emptySketch()
                continue
            }
            w.lengthPrefixed { HyperLogLog.serialize(at: sketch, appendingTo: &$0) }
        }
        // In id order, read in place (the `categories` dictionary is built per read).
        w.varint(UInt64(series.pointee.aggregate.categoryEntryCount))
        for i in 0..<series.pointee.aggregate.categoryEntryCount {
            let (id, count) = series.pointee.aggregate.categoryEntry(at: i)
            w.varint(UInt64(id))
            w.varint(count)
        }
        w.varint(series.pointee.aggregate.otherCategories)
    }

    /// The window of an encoded snapshot read from its fixed header (bytes 8–23, see
    /// SNAPSHOT.md) without decoding the rest: for picking windows out of a data
    /// directory. Nil when the bytes are too short, not a snapshot of a readable version or start ≥ end;
    /// a non-nil answer does not mean the rest decodes.
    public static func window(of bytes: [UInt8]) -> (startMicros: UInt64, endMicros: UInt64)? {
        guard bytes.count >= 24, Array(bytes[0..<4]) == magic, readableVersions.contains(bytes[4]) else { return nil }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        let start = u64(8), end = u64(16)
        return start < end ? (start, end) : nil
    }

    public static func decode(_ bytes: [UInt8]) throws(SnapshotCodecError) -> Snapshot {
        var r = SnapshotReader(bytes: bytes)
        guard bytes.count >= 24 else { throw .truncated("header") }
        guard Array(bytes[0..<4]) == magic else { throw .badMagic }
        let version = try r.u8(at: 4)
        guard readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        guard bytes[5] & ~(SnapshotCodec.cohortsFlag | SnapshotCodec.heavyHittersFlag | SnapshotCodec.tenantsFlag
                           | SnapshotCodec.costUnitsFlag | SnapshotCodec.emptySketchesFlag) == 0 else {
            throw .invalid("flags", "unknown bits \(bytes[5])")
        }
        guard bytes[5] & SnapshotCodec.tenantsFlag == 0 || bytes[5] & SnapshotCodec.heavyHittersFlag != 0 else {
            throw .invalid("flags", "the tenant bit without the heavy-hitter bit")
        }
        guard bytes[5] & SnapshotCodec.costUnitsFlag == 0 || (bytes[5] & SnapshotCodec.heavyHittersFlag != 0 && version == 2) else {
            throw .invalid("flags", "the cost-units bit without the heavy-hitter bit or in version 1")
        }
        guard bytes[5] & SnapshotCodec.emptySketchesFlag == 0 || version == 2 else {
            throw .invalid("flags", "the empty-sketches bit in version 1")
        }
        guard bytes[7] == 0 else { throw .invalid("reserved", "not zero") }
        let hasCohorts = bytes[5] & SnapshotCodec.cohortsFlag != 0
        let summaries = SummarizedDigests(rawValue: bytes[6] & ~SnapshotCodec.leanSummariesBit)
        guard SummarizedDigests.valid.isSuperset(of: summaries) else {
            throw .invalid("cohort_summaries", "unknown bits \(bytes[6])")
        }
        guard summaries.isEmpty || hasCohorts else { throw .invalid("cohort_summaries", "set without the cohorts flag") }
        let lean = bytes[6] & SnapshotCodec.leanSummariesBit != 0
        guard !lean || (!summaries.isEmpty && version == 2) else {
            throw .invalid("cohort_summaries", "the lean bit without summaries or in version 1")
        }
        let leanSummaries: SummarizedDigests = lean ? summaries : []
        let hasHeavyHitters = bytes[5] & SnapshotCodec.heavyHittersFlag != 0
        r.offset = 8
        let start = try r.u64("window_start"), end = try r.u64("window_end")
        guard start < end else { throw .invalid("window", "start \(start) ≥ end \(end)") }
        let stringCount = try r.count("string_count", max: 1 << 20)
        var strings: [String] = []
        strings.reserveCapacity(stringCount)
        for i in 0..<stringCount {
            let length = try r.count("string[\(i)].length", max: 1 << 16)
            let raw = try r.take(length, "string[\(i)]")
            guard let s = String(validating: raw, as: UTF8.self) else { throw .invalid("string[\(i)]", "not UTF-8") }
            strings.append(s)
        }
        func string(_ field: String) throws(SnapshotCodecError) -> String {
            let ref = try r.count(field, max: strings.count - 1)
            return strings[ref]
        }
        let collector = try string("collector_id")
        var sequences: [Snapshot.SequenceRange] = []
        for i in 0..<(try r.count("sequence_count", max: 1 << 20)) {
            let id = try string("sequence[\(i)].collector")
            let first = try r.varint("sequence[\(i)].first"), last = try r.varint("sequence[\(i)].last")
            guard first <= last else { throw .invalid("sequence[\(i)]", "first > last") }
            sequences.append(Snapshot.SequenceRange(collectorID: id, first: first, last: last))
        }
        guard !sequences.isEmpty else { throw .invalid("sequence_count", "0") }
        var sketches = SketchParameters()
        sketches.compression = try r.count("compression", max: 10_000)
        guard let scale = TDigestScale(rawValue: try r.u8("scale")) else { throw .invalid("scale", "unknown") }
        sketches.scale = scale
        sketches.digestBuffer = try r.count("digest_buffer", max: 1 << 24)
        sketches.hllPrecision = Int(try r.u8("hll_precision"))
        guard sketches.compression >= 10, (4...18).contains(sketches.hllPrecision) else {
            throw .invalid("sketch parameters", "out of range")
        }
        var format = Format(version: version, meanKeyBits: TDigest.meanKeyBits)
        if format.compact {
            let bits = Int(try r.u8("mean_key_bits"))
            guard TDigest.compactMeanKeyBitsRange.contains(bits) else { throw .invalid("mean_key_bits", "\(bits) not in 12…28") }
            format = Format(version: version, meanKeyBits: bits,
                            emptySketches: bytes[5] & SnapshotCodec.emptySketchesFlag != 0)
        }
        var counters: [String: UInt64] = [:]
        for i in 0..<(try r.count("counter_count", max: 1 << 16)) {
            counters[try string("counter[\(i)].name")] = try r.varint("counter[\(i)].value")
        }
        var series: [SnapshotSeries] = []
        for i in 0..<(try r.count("series_count", max: 1 << 24)) {
            series.append(try decodeSeries(&r, index: i, strings: strings, sketches: sketches, format: format))
        }
        var cohorts: [SnapshotSeries] = []
        if hasCohorts {
            var seen = Set<SeriesLabels>()
            for i in 0..<(try r.count("cohort_count", max: 1 << 24)) {
                var cohort = try decodeSeries(&r, index: i, strings: strings, sketches: sketches, format: format,
                                              section: "cohort", leanSummaries: leanSummaries)
                guard cohort.labels.tags.count == 1 else {
                    throw .invalid("cohort[\(i)].tag_count", "\(cohort.labels.tags.count), must be 1")
                }
                guard seen.insert(cohort.labels).inserted else { throw .invalid("cohort[\(i)]", "labels repeated") }
                // What the header says is a summary is one, whatever the writer put there.
                if !summaries.isEmpty { summaries.apply(to: &cohort.aggregate) }
                cohorts.append(cohort)
            }
            guard !cohorts.isEmpty else { throw .invalid("cohort_count", "0 with the cohorts flag set") }
        }
        var heavyHitters: [SliceHeavyHitters] = []
        if hasHeavyHitters {
            heavyHitters = try decodeHeavyHitters(&r, strings: strings, format: format,
                                                  tenants: bytes[5] & SnapshotCodec.tenantsFlag != 0,
                                                  costUnits: bytes[5] & SnapshotCodec.costUnitsFlag != 0)
        }
        guard r.offset == bytes.count else { throw .trailingBytes(bytes.count - r.offset) }
        var snapshot = Snapshot(collectorID: collector, windowStartMicros: start, windowEndMicros: end, sequence: 0,
                                sketches: sketches, series: consume series, counters: counters, cohorts: consume cohorts,
                                heavyHitters: consume heavyHitters)  // moved: sorted in place, not copied first
        snapshot.sequences = sequences
        snapshot.cohortSummaries = summaries
        return snapshot
    }

    /// The heavy-hitter section (SNAPSHOT.md, "Heavy hitters"): ≥ 1 slices in strictly
    /// ascending label order, each with two summaries of one capacity, entries heaviest first,
    /// and with `tenants` (flags bit 2) a tenant part each; with `costUnits` (flags bit 3)
    /// the cost summaries' weights are in units of 2⁻³² USD.
    static func decodeHeavyHitters(_ r: inout SnapshotReader, strings: [String], format: Format,
                                   tenants hasTenants: Bool = false, costUnits: Bool = false)
        throws(SnapshotCodecError) -> [SliceHeavyHitters] {
        let costScale = costUnits ? HeavyHitterCost.dollarsPerUnit : 1
        var slices: [SliceHeavyHitters] = []
        for i in 0..<(try r.count("slice_count", max: 1 << 24)) {
            let f = "heavy_hitters[\(i)]"
            let labels = try decodeSlice(&r, strings: strings, field: f)
            if let last = slices.last, !(last.labels < labels) { throw .invalid(f, "labels not ascending") }
            let capacity = try r.count("\(f).capacity", max: 65_536)
            var summaries: [HeavyHitters] = []
            for (name, scale) in [("users_by_requests", 1), ("users_by_cost", costScale)] {
                summaries.append(try decodeSummary(&r, capacity: capacity, field: "\(f).\(name)", format: format, scale: scale) {
                    (r: inout SnapshotReader, field: String) throws(SnapshotCodecError) in try r.u64(field)
                })
            }
            var tenants: TenantHeavyHitters? = nil
            if hasTenants {
                let tagKey = try r.string("\(f).tenant_key", strings)
                if !tagKey.isEmpty {
                    var names: [UInt64: String] = [:], keyOfName: [String: UInt64] = [:]
                    var parts: [HeavyHitters] = []
                    for (name, scale) in [("tenants_by_requests", 1), ("tenants_by_cost", costScale)] {
                        parts.append(try decodeSummary(&r, capacity: capacity, field: "\(f).\(name)", format: format, scale: scale) {
                            (r: inout SnapshotReader, field: String) throws(SnapshotCodecError) in
                            let tenant = try r.string(field, strings)
                            guard !tenant.isEmpty else { throw .invalid(field, "an empty tenant name") }
                            let key = IdentifierHash.hash(tenant)
                            if let other = names[key], other != tenant {
                                throw .invalid(field, "tenants \"\(other)\" and \"\(tenant)\" have one key")
                            }
                            // Two spellings of one string (NFC and NFD, SNAPSHOT.md "Orders") would
                            // share one string-table entry when written again.
                            if let other = keyOfName[tenant], other != key {
                                throw .invalid(field, "tenant \"\(tenant)\" spelled twice")
                            }
                            names[key] = tenant
                            keyOfName[tenant] = key
                            return key
                        })
                    }
                    do { tenants = try TenantHeavyHitters(tagKey: tagKey, byRequests: parts[0], byCost: parts[1], names: names) } catch {
                        throw .invalid("\(f).tenants", error.description)
                    }
                }
            }
            slices.append(SliceHeavyHitters(labels: labels, usersByRequests: summaries[0], usersByCost: summaries[1],
                                            tenants: tenants))
        }
        guard !slices.isEmpty else { throw .invalid("slice_count", "0 with the heavy-hitter flag set") }
        return slices
    }

    /// One summary: W, the entry count (≤ `capacity`), then the entries, each a key read by
    /// `key` and two weights, heaviest first (estimate descending, then key ascending); each
    /// weight as written times `scale` (a power of two: exact).
    static func decodeSummary(_ r: inout SnapshotReader, capacity: Int, field f: String, format: Format, scale: Double = 1,
                              key: (inout SnapshotReader, String) throws(SnapshotCodecError) -> UInt64)
        throws(SnapshotCodecError) -> HeavyHitters {
        let total = try r.weight("\(f).total_weight", format) * scale
        let count = try r.count("\(f).entry_count", max: capacity)
        var entries: [HeavyHitters.Entry] = []
        entries.reserveCapacity(count)
        for e in 0..<count {
            let key = try key(&r, "\(f)[\(e)].key")
            let estimate = try r.weight("\(f)[\(e)].estimate", format) * scale
            let error = try r.weight("\(f)[\(e)].error", format) * scale
            let entry = HeavyHitters.Entry(key: key, estimate: estimate, error: error)
            if let previous = entries.last, !HeavyHitters.heavierFirst(previous, entry) {
                throw .invalid("\(f)[\(e)]", "not after the entry before it (estimate descending, then key ascending)")
            }
            entries.append(entry)
        }
        do { return try HeavyHitters(capacity: capacity, totalWeight: total, entries: entries) } catch {
            throw .invalid(f, error.description)
        }
    }

    /// A deployment slice's labels (4 refs and the ring) of the record named `f`; no tags.
    static func decodeSlice(_ r: inout SnapshotReader, strings: [String], field f: String) throws(SnapshotCodecError)
        -> SeriesLabels {
        func string(_ field: String) throws(SnapshotCodecError) -> String {
            strings[try r.count("\(f).\(field)", max: strings.count - 1)]
        }
        let model = try string("model"), version = try string("model_version")
        let prompt = try string("prompt_version"), route = try string("route")
        guard let ring = DeploymentRing(rawValue: try r.u8("\(f).ring")) else { throw .invalid("\(f).ring", "unknown") }
        return SeriesLabels(model: model, modelVersion: version, promptVersion: prompt, route: route, ring: ring)
    }

    static func decodeSeries(_ r: inout SnapshotReader, index: Int, strings: [String],
                             sketches: SketchParameters, format: Format, section: String = "series",
                             leanSummaries: SummarizedDigests = []) throws(SnapshotCodecError) -> SnapshotSeries {
        let f = "\(section)[\(index)]"
        func string(_ field: String) throws(SnapshotCodecError) -> String {
            strings[try r.count("\(f).\(field)", max: strings.count - 1)]
        }
        let slice = try decodeSlice(&r, strings: strings, field: f)
        let tagCount = Int(try r.u8("\(f).tag_count"))
        guard tagCount <= WireLimits.maxTags else { throw .invalid("\(f).tag_count", "\(tagCount)") }
        var tags: [CohortTag] = []
        for t in 0..<tagCount { tags.append(CohortTag(try string("tag[\(t)].key"), try string("tag[\(t)].value"))) }
        var a = SeriesAggregate(sketches: sketches)
        a.requests = try r.varint("\(f).requests")
        for i in 0..<6 { a.statusStore[i] = try r.varint("\(f).status[\(i)]") }
        var errors: [String: UInt64] = [:]
        for e in 0..<(try r.count("\(f).error_class_count", max: 1 << 16)) {
            errors[try string("error_class[\(e)]")] = try r.varint("\(f).error_class[\(e)].count")
        }
        a.refusals = try r.varint("\(f).refusals")
        a.escalations = try r.varint("\(f).escalations")
        a.fallbacks = try r.varint("\(f).fallbacks")
        for i in 0..<3 { a.taskStore[i] = try r.varint("\(f).task[\(i)]") }
        a.feedbackUp = try r.varint("\(f).feedback_up")
        a.feedbackDown = try r.varint("\(f).feedback_down")
        for i in 1..<5 { a.severityStore[i] = try r.varint("\(f).severity[\(i)]") }
        let mask = try r.varint("\(f).safety_kind_mask")
        guard mask >> 16 == 0 else { throw .invalid("\(f).safety_kind_mask", "\(mask)") }
        if mask != 0 {
            var kinds = [UInt64](repeating: 0, count: 16)
            for bit in 0..<16 where mask & (1 << UInt64(bit)) != 0 { kinds[bit] = try r.varint("\(f).safety_kind[\(bit)]") }
            a.safetyByKind = kinds
        }
        a.unpriced = try r.varint("\(f).unpriced")
        a.cachedInputTokens = try r.varint("\(f).cached_input_tokens")
        var digests: [TDigest] = []
        for d in 0..<7 {
            let bytes = try r.take(try r.count("\(f).digest[\(d)].length", max: 1 << 24), "\(f).digest[\(d)]")
            if bytes.isEmpty && format.emptySketches {
                // Zero bytes (flags bit 4): the empty digest of the header's parameters, what
                // either compact reader makes of `00 00` (an empty summary is summarized as is).
                digests.append(TDigest(compression: sketches.compression, scale: sketches.scale))
                continue
            }
            do {
                let digest = leanSummaries.rawValue >> UInt8(d) & 1 != 0
                    ? try TDigest(compactSummary: Array(bytes), compression: sketches.compression, scale: sketches.scale)
                    : format.compact
                    ? try TDigest(compactSerialized: Array(bytes), compression: sketches.compression, scale: sketches.scale,
                                  meanKeyBits: format.meanKeyBits)
                    : try TDigest(serialized: Array(bytes))
                guard digest.compression == sketches.compression, digest.scale.mergesWith(sketches.scale) else {
                    throw SnapshotCodecError.invalid("\(f).digest[\(d)]", "parameters differ from the header's")
                }
                digests.append(digest)
            } catch let error as SketchError {
                throw .invalid("\(f).digest[\(d)]", error.description)
            } catch let error as SnapshotCodecError { throw error } catch { throw .invalid("\(f).digest[\(d)]", "\(error)") }
        }
        (a.queueTime, a.timeToFirstToken, a.totalLatency, a.timePerOutputToken, a.inputTokens, a.outputTokens, a.cost)
            = (digests[0], digests[1], digests[2], digests[3], digests[4], digests[5], digests[6])
        var hlls: [HyperLogLog] = []
        for h in 0..<2 {
            let bytes = try r.take(try r.count("\(f).hll[\(h)].length", max: 1 << 20), "\(f).hll[\(h)]")
            if bytes.isEmpty && format.emptySketches {
                hlls.append(HyperLogLog(precision: sketches.hllPrecision))  // zero bytes (flags bit 4): empty
                continue
            }
            let sketch: HyperLogLog
            do { sketch = try HyperLogLog(serialized: Array(bytes)) } catch { throw .invalid("\(f).hll[\(h)]", error.description) }
            guard sketch.precision == sketches.hllPrecision else { throw .invalid("\(f).hll[\(h)]", "precision differs") }
            hlls.append(sketch)
        }
        a.users = hlls[0]
        a.sessions = hlls[1]
        // Tally writes categories in id order (SNAPSHOT.md): read so, they are the aggregate's
        // entries as they are. Any other order (a duplicate id: the last count stands) goes
        // through the dictionary, as every read once did (~620 instructions an entry).
        let categoryCount = try r.count("\(f).category_count", max: SeriesAggregate.maxCategories)
        var entries: [SeriesAggregate.CategoryCount] = []
        entries.reserveCapacity(categoryCount)
        var ascending = true
        for c in 0..<categoryCount {
            let id = UInt16(try r.count("\(f).category[\(c)].id", max: 0xFFFE))
            if let last = entries.last, last.id >= id { ascending = false }
            entries.append(.init(id: id, count: try r.varint("\(f).category[\(c)].count")))
        }
        if ascending {
            a.categoryEntries = entries
        } else {
            var categories: [UInt16: UInt64] = [:]
            for entry in entries { categories[entry.id] = entry.count }
            a.categories = categories
        }
        a.otherCategories = try r.varint("\(f).other_categories")
        return SnapshotSeries(labels: SeriesLabels(model: slice.model, modelVersion: slice.modelVersion,
                                                   promptVersion: slice.promptVersion, route: slice.route,
                                                   ring: slice.ring, tags: tags),
                              aggregate: a, errorClasses: errors)
    }
}

/// Why snapshot bytes were refused.
public enum SnapshotCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(String)
    case badMagic
    case unsupportedVersion(UInt8)
    case invalid(String, String)
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case let .truncated(field): "truncated at \(field)"
        case .badMagic: "not a Tally snapshot (bad magic)"
        case let .unsupportedVersion(v): "unsupported snapshot version \(v)"
        case let .invalid(field, detail): "invalid \(field): \(detail)"
        case let .trailingBytes(n): "\(n) trailing bytes"
        }
    }
}

/// The snapshot's string table: each distinct string once, referenced by index.
struct StringTableBuilder {
    var strings: [String] = [""]
    var index: [String: Int] = ["": 0]
    mutating func add(_ s: String) {
        if !s.isEmpty && index[s] == nil { index[s] = strings.count; strings.append(s) }
    }
    /// The reference of `s`, which ``add(_:)`` added ("" is always 0, found without a hash).
    func ref(_ s: String) -> UInt64 { s.isEmpty ? 0 : UInt64(index[s]!) }
}

struct SnapshotWriter {
    var bytes: [UInt8] = []
    /// Whether ``emptySketch()`` wrote a zero-length sketch (flags bit 4).
    var wroteEmptySketch = false
    /// An empty sketch in version 2's form: its length, 0, and no bytes.
    mutating func emptySketch() {
        bytes.append(0)
        wroteEmptySketch = true
    }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    /// A varint length, then the bytes `write` appends to the buffer it is given.
    ///
    /// `write` appends in place after a one-byte length; a part of 128 bytes or more
    /// then moves up by the length's extra bytes. (Writing into a scratch buffer and
    /// copying it cost ~200 instructions a sketch, most of a small one's encoding.)
    mutating func lengthPrefixed(_ write: (inout [UInt8]) -> Void) {
        let start = bytes.count
        bytes.append(0)
        write(&bytes)
        let length = bytes.count - start - 1
        if length < 0x80 {
            bytes[start] = UInt8(length)
            return
        }
        var prefix = SnapshotWriter()
        prefix.varint(UInt64(length))
        bytes.replaceSubrange(start..<(start + 1), with: prefix.bytes)
    }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * i))) } }
    /// An IEEE 754 binary64, little-endian.
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    /// A heavy-hitter weight: f64 in version 1, a ``CompactNumber`` in version 2.
    mutating func weight(_ v: Double, _ format: SnapshotCodec.Format) {
        if format.compact { CompactNumber.append(v, to: &bytes) } else { f64(v) }
    }
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
}

struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    func u8(at position: Int) throws(SnapshotCodecError) -> UInt8 {
        guard position < bytes.count else { throw .truncated("byte \(position)") }
        return bytes[position]
    }

    mutating func u8(_ field: @autoclosure () -> String) throws(SnapshotCodecError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(field()) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u64(_ field: @autoclosure () -> String) throws(SnapshotCodecError) -> UInt64 {
        guard bytes.count - offset >= 8 else { throw .truncated(field()) }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
        offset += 8
        return v
    }

    mutating func varint(_ field: @autoclosure () -> String) throws(SnapshotCodecError) -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            let byte = try u8(field())
            guard shift < 63 || (shift == 63 && byte <= 1) else { throw .invalid(field(), "varint over 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A heavy-hitter weight: f64 in version 1, a ``CompactNumber`` (finite) in version 2.
    mutating func weight(_ field: @autoclosure () -> String, _ format: SnapshotCodec.Format) throws(SnapshotCodecError) -> Double {
        guard format.compact else { return Double(bitPattern: try u64(field())) }
        let prefix = try varint(field())
        if prefix == CompactNumber.escape {
            let value = Double(bitPattern: try u64(field()))
            guard value.isFinite else { throw .invalid(field(), "not finite") }
            return value
        }
        guard let value = CompactNumber.integer(prefix: prefix) else {
            throw .invalid(field(), "number prefix \(prefix) neither an integer ≤ 2^53 nor the escape 1")
        }
        return value
    }

    /// A varint that must be ≤ `max` (a count, a length or a reference).
    /// A `ref` into `strings` (SNAPSHOT.md, "Conventions"), as its string.
    mutating func string(_ field: @autoclosure () -> String, _ strings: [String]) throws(SnapshotCodecError) -> String {
        strings[try count(field(), max: strings.count - 1)]
    }

    mutating func count(_ field: @autoclosure () -> String, max: Int) throws(SnapshotCodecError) -> Int {
        let v = try varint(field())
        guard max >= 0, v <= UInt64(max) else { throw .invalid(field(), "\(v) over \(max)") }
        return Int(v)
    }

    mutating func take(_ n: Int, _ field: @autoclosure () -> String) throws(SnapshotCodecError) -> ArraySlice<UInt8> {
        guard bytes.count - offset >= n else { throw .truncated(field()) }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }
}
