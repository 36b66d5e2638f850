import TallyWire

/// Turns the frames of one decoded batch into ``FrameRecord``s: a string reference is
/// mapped to its symbol when a frame first uses it (one ``SymbolTable`` lock per distinct
/// string and batch), so strings that no frame of the batch uses never enter the table
/// (a batch of strings and no frames cannot fill it); model prices are looked up once
/// per model per batch, and each frame then costs only array lookups and one branch per
/// string. One resolver per ingest thread; not thread-safe.
///
/// The per-batch tables live behind a pointer (``Tables``), not in stored `var`s:
/// every read of a class's `var` costs a dynamic exclusivity check, which was ~4 %
/// of the ingest thread's time under load (perf, Benchmarks/README.md).
public final class BatchResolver {
    public let symbols: SymbolTable
    public let prices: PriceTable
    /// The engine's producers, for each producer's share of the symbol table (nil: only
    /// the producers holding symbols count).
    public let producers: ProducerDirectory?
    /// Which tag keys are series dimensions, breakdown keys or dropped.
    public let tagPolicy: TagPolicy
    private let tables: UnsafeMutablePointer<Tables>

    /// Per string reference of the current batch (room for `capacity`): its symbol
    /// (``unresolved`` until a frame uses it), and for references used as a model its
    /// price, looked up on first use.
    struct Tables {
        var capacity = 0
        var symbolOf: UnsafeMutablePointer<UInt32>? = nil
        var priceOf: UnsafeMutablePointer<ModelPrice?>? = nil
        var priceResolved: UnsafeMutablePointer<Bool>? = nil
        /// Per reference used as a tag key: its ``TagPolicy/Role`` (``roleUnknown`` until used).
        var roleOf: UnsafeMutablePointer<UInt8>? = nil
        var batch: BatchView? = nil
        var producer = ProducerDirectory.unnumbered
        /// Tags dropped since the owner last took the count (``takeDroppedTags()``).
        var droppedTags: UInt64 = 0
    }

    public init(symbols: SymbolTable, prices: PriceTable, producers: ProducerDirectory? = nil,
                tagPolicy: TagPolicy = .legacy) {
        self.symbols = symbols
        self.prices = prices
        self.producers = producers
        self.tagPolicy = tagPolicy
        tables = .allocate(capacity: 1)
        tables.initialize(to: Tables())
    }

    deinit {
        release()
        tables.deinitialize(count: 1)
        tables.deallocate()
    }

    private func release() {
        let t = tables.pointee
        t.symbolOf?.deallocate()
        if let priceOf = t.priceOf {
            priceOf.deinitialize(count: t.capacity)
            priceOf.deallocate()
        }
        t.priceResolved?.deallocate()
        t.roleOf?.deallocate()
    }

    /// Prepares for the frames of `batch`, sent by the producer numbered `producer`
    /// (``ProducerDirectory``); call before ``record(_:)``.
    public func begin(_ batch: BatchView, producer: UInt32 = ProducerDirectory.unnumbered) {
        let count = batch.stringCount
        // Allocated on the first batch even when it has no strings (an empty batch).
        if tables.pointee.capacity < count || tables.pointee.symbolOf == nil {
            release()
            let capacity = max(count, 64)
            let priceOf = UnsafeMutablePointer<ModelPrice?>.allocate(capacity: capacity)
            priceOf.initialize(repeating: nil, count: capacity)
            let dropped = tables.pointee.droppedTags
            tables.pointee = Tables(capacity: capacity, symbolOf: .allocate(capacity: capacity), priceOf: priceOf,
                                    priceResolved: .allocate(capacity: capacity), roleOf: .allocate(capacity: capacity),
                                    droppedTags: dropped)
        }
        let t = tables.pointee
        t.symbolOf!.update(repeating: BatchResolver.unresolved, count: count)
        t.priceResolved!.update(repeating: false, count: count)
        if !tagPolicy.isLegacy || tagPolicy.heavyHitterKey != nil {
            t.roleOf!.update(repeating: BatchResolver.roleUnknown, count: count)
        }
        tables.pointee.batch = batch
        tables.pointee.producer = producer
    }

    /// Marks a reference whose symbol is not looked up yet (no symbol reaches it: the
    /// table holds at most ``SymbolTable/maxSymbols`` strings).
    static let unresolved = UInt32.max

    @inline(__always)
    private func symbol(_ reference: UInt16, _ symbolOf: UnsafeMutablePointer<UInt32>) -> UInt32 {
        if reference == WireLimits.noString { return SymbolTable.none }
        let symbol = symbolOf[Int(reference)]
        return symbol != BatchResolver.unresolved ? symbol : intern(reference, symbolOf)
    }

    /// Looks up (or adds) the string of `reference`: once per used string and batch.
    @inline(never)
    private func intern(_ reference: UInt16, _ symbolOf: UnsafeMutablePointer<UInt32>) -> UInt32 {
        let symbol = symbols.intern(tables.pointee.batch?.string(reference) ?? "", producer: tables.pointee.producer,
                                    producersActive: producers?.active ?? 0)
        symbolOf[Int(reference)] = symbol
        return symbol
    }

    /// Tags dropped (neither a series dimension nor a breakdown key) since the last call; the ingest thread adds them to its counters after each batch.
    public func takeDroppedTags() -> UInt64 {
        defer { tables.pointee.droppedTags = 0 }
        return tables.pointee.droppedTags
    }

    static let roleUnknown: UInt8 = 0xFF
    /// Role bits: 0 dimension, 1 breakdown, 2 dropped; plus ``heavyHitterBit`` for the
    /// heavy-hitter key (``TagPolicy/heavyHitterKey``), which is then not counted dropped.
    static let roleMask: UInt8 = 3
    static let heavyHitterBit: UInt8 = 4

    /// The role of tag-key reference `reference` (looked up once per batch).
    @inline(__always)
    private func role(_ reference: UInt16, _ roleOf: UnsafeMutablePointer<UInt8>) -> UInt8 {
        if reference == WireLimits.noString { return 2 }  // an empty key: dropped
        let cached = roleOf[Int(reference)]
        if cached != BatchResolver.roleUnknown { return cached }
        let name = tables.pointee.batch?.string(reference) ?? ""
        var role: UInt8 = switch tagPolicy.role(of: name) {
        case .dimension: 0
        case .breakdown: 1
        case .dropped: 2
        }
        if let key = tagPolicy.heavyHitterKey, key == name { role |= BatchResolver.heavyHitterBit }
        roleOf[Int(reference)] = role
        return role
    }

    /// The record of `frame`, which must come from the batch passed to ``begin(_:)`` (its
    /// fields are read in place, from the batch's bytes).
    public func record(_ frame: FrameReference) -> FrameRecord {
        let symbolOf = tables.pointee.symbolOf!
        var key = SeriesKey(model: symbol(frame.model, symbolOf), modelVersion: symbol(frame.modelVersion, symbolOf),
                            promptVersion: symbol(frame.promptVersion, symbolOf), route: symbol(frame.route, symbolOf),
                            ring: frame.ring)
        var tenant = SymbolTable.none
        if tagPolicy.isLegacy {
            for (k, v) in frame.tags { key.insertTag(key: symbol(k, symbolOf), value: symbol(v, symbolOf)) }
            if tagPolicy.heavyHitterKey != nil && frame.tagCount > 0 { tenant = heavyHitterValue(frame, symbolOf) }
        } else if frame.tagCount > 0 {
            tenant = classifyTags(frame, into: &key, symbolOf)
        }
        let modelReference = Int(frame.model)
        let priceOf = tables.pointee.priceOf!, priceResolved = tables.pointee.priceResolved!
        if !priceResolved[modelReference] {
            priceResolved[modelReference] = true
            priceOf[modelReference] = prices.price(of: tables.pointee.batch?.string(frame.model) ?? "")
        }
        let cost = priceOf[modelReference].map {
            $0.cost(inputTokens: frame.inputTokens, cachedInputTokens: frame.cachedInputTokens,
                    cacheCreationInputTokens: frame.cacheCreationInputTokens,
                    outputTokens: frame.outputTokens, reasoningOutputTokens: frame.reasoningOutputTokens)
        } ?? .nan
        key.heavyHitterValue = tenant
        return FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: frame.eventTimeMicros, values: FrameValues(
            userHash: frame.userHash, sessionHash: frame.sessionHash, cost: cost,
            queueTimeMicros: frame.queueTimeMicros, timeToFirstTokenMicros: frame.timeToFirstTokenMicros,
            totalLatencyMicros: frame.totalLatencyMicros, inputTokens: frame.inputTokens,
            outputTokens: frame.outputTokens, cachedInputTokens: frame.cachedInputTokens,
            errorClass: symbol(frame.errorClass, symbolOf), categoryID: frame.categoryID, safetyKinds: frame.safetyKinds,
            status: frame.status, outcome: frame.outcome, safetySeverity: frame.safetySeverity),
            producer: tables.pointee.producer)
    }

    /// The symbol of `frame`'s value of the heavy-hitter key (``SymbolTable/none`` without
    /// one), for a legacy policy, whose tags are all dimensions.
    @inline(never)
    private func heavyHitterValue(_ frame: FrameReference, _ symbolOf: UnsafeMutablePointer<UInt32>) -> UInt32 {
        let roleOf = tables.pointee.roleOf!
        for (k, v) in frame.tags where role(k, roleOf) & BatchResolver.heavyHitterBit != 0 { return symbol(v, symbolOf) }
        return SymbolTable.none
    }

    /// Puts `frame`'s dimension tags into `key` (sorted), then its breakdown tags, and counts
    /// the rest as dropped (a validated batch has no key twice in a frame, FORMAT.md), but for
    /// the heavy-hitter key, whose value's symbol it returns (``SymbolTable/none`` without one).
    @inline(never)
    private func classifyTags(_ frame: FrameReference, into key: inout SeriesKey,
                              _ symbolOf: UnsafeMutablePointer<UInt32>) -> UInt32 {
        let roleOf = tables.pointee.roleOf!
        var breakdowns: UInt32 = 0  // bit i: tag i is a breakdown tag
        var dropped: UInt64 = 0
        var tenant = SymbolTable.none
        let tags = frame.tags
        for i in tags.indices {
            let (k, v) = tags[i]
            let role = role(k, roleOf)
            if role & BatchResolver.heavyHitterBit != 0 { tenant = symbol(v, symbolOf) }
            switch role & BatchResolver.roleMask {
            case 0: key.insertTag(key: symbol(k, symbolOf), value: symbol(v, symbolOf))
            case 1: breakdowns |= 1 << UInt32(i)
            default: if role & BatchResolver.heavyHitterBit == 0 { dropped &+= 1 }
            }
        }
        while breakdowns != 0 {
            let i = breakdowns.trailingZeroBitCount
            breakdowns &= breakdowns &- 1
            let (k, v) = tags[i]
            key.appendBreakdown(key: symbol(k, symbolOf), value: symbol(v, symbolOf))
        }
        tables.pointee.droppedTags &+= dropped
        return tenant
    }
}
