import TallyWire

/// Turns the frames of one decoded batch into ``FrameRecord``s: the batch's string
/// references are mapped to symbols once per batch (one ``SymbolTable`` lock per
/// distinct string), model prices are looked up once per model per batch, and each
/// frame then costs only array lookups. One resolver per ingest thread; not thread-safe.
public final class BatchResolver {
    public let symbols: SymbolTable
    public let prices: PriceTable
    /// Symbol of each string reference of the current batch.
    private var symbolOf: [UInt32] = []
    /// Price of each string reference used as a model, resolved lazily.
    private var priceOf: [ModelPrice?] = []
    private var priceResolved: [Bool] = []

    public init(symbols: SymbolTable, prices: PriceTable) {
        self.symbols = symbols
        self.prices = prices
    }

    /// Prepares for the frames of `batch`; call before ``record(_:)``.
    public func begin(_ batch: BatchView) {
        symbolOf.removeAll(keepingCapacity: true)
        priceOf.removeAll(keepingCapacity: true)
        priceResolved.removeAll(keepingCapacity: true)
        for reference in 0..<batch.stringCount {
            symbolOf.append(symbols.intern(batch.string(UInt16(reference)) ?? ""))
        }
        priceOf.append(contentsOf: repeatElement(nil, count: batch.stringCount))
        priceResolved.append(contentsOf: repeatElement(false, count: batch.stringCount))
        self.batch = batch
    }

    private var batch: BatchView?

    @inline(__always)
    private func symbol(_ reference: UInt16) -> UInt32 {
        reference == WireLimits.noString ? SymbolTable.none : symbolOf[Int(reference)]
    }

    /// The record of `frame`, which must come from the batch passed to ``begin(_:)``.
    public func record(_ frame: WireFrame) -> FrameRecord {
        var key = SeriesKey(model: symbol(frame.model), modelVersion: symbol(frame.modelVersion),
                            promptVersion: symbol(frame.promptVersion), route: symbol(frame.route), ring: frame.ring)
        for i in 0..<Int(frame.tagCount) {
            let (k, v) = frame.tag(i)
            key.insertTag(key: symbol(k), value: symbol(v))
        }
        let modelReference = Int(frame.model)
        if !priceResolved[modelReference] {
            priceResolved[modelReference] = true
            priceOf[modelReference] = prices.price(of: batch?.string(frame.model) ?? "")
        }
        let cost = priceOf[modelReference].map {
            $0.cost(inputTokens: frame.inputTokens, cachedInputTokens: frame.cachedInputTokens, outputTokens: frame.outputTokens)
        } ?? .nan
        return FrameRecord(
            key: key, routingHash: key.routingHash, eventTimeMicros: frame.eventTimeMicros,
            userHash: frame.userHash, sessionHash: frame.sessionHash, cost: cost,
            queueTimeMicros: frame.queueTimeMicros, timeToFirstTokenMicros: frame.timeToFirstTokenMicros,
            totalLatencyMicros: frame.totalLatencyMicros, inputTokens: frame.inputTokens,
            outputTokens: frame.outputTokens, cachedInputTokens: frame.cachedInputTokens,
            errorClass: symbol(frame.errorClass), categoryID: frame.categoryID, status: frame.status,
            outcome: frame.outcome, safetySeverity: frame.safetySeverity, safetyKinds: frame.safetyKinds)
    }
}
