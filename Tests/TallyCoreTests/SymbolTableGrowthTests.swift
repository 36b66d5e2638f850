import Testing
import TallyWire
@testable import TallyCore

/// Issue 18: strings that no accepted frame uses must not take room in the symbol table
/// (a flood of batches whose string tables no frame reads used to fill it, after which
/// every new model name aggregated under `~overflow~`).
@Suite struct SymbolTableGrowthTests {
    @Test func onlyStringsOfResolvedFramesAreInterned() throws {
        let encoder = BatchEncoder(capacity: 16_384)
        for i in 0..<50 {
            _ = try encoder.append(TraceFrame(eventTimeMicros: 1, model: "model-\(i)", modelVersion: "v\(i)",
                                              tags: [CohortTag("tenant", "t\(i)")], totalLatencyMicros: 5))
        }
        let view = try BatchDecoder().decode(encoder.finish(sequence: 0))
        #expect(view.stringCount >= 150)
        let symbols = SymbolTable()
        let resolver = BatchResolver(symbols: symbols, prices: PriceTable())
        let before = symbols.count
        // A batch that is begun but whose frames are not resolved (as a batch of strings
        // without frames) adds nothing.
        resolver.begin(view)
        #expect(symbols.count == before)
        // One frame adds its own four strings (model, version, tag key and value), once.
        let frames = Array(view.frameReferences)
        let first = resolver.record(frames[0])
        let second = resolver.record(frames[0])
        #expect(symbols.count == before + 4)
        #expect(first.key == second.key)
        #expect(symbols.string(first.key.model) == "model-0" && symbols.string(first.key.modelVersion) == "v0")
        // A string used by a later frame of the batch resolves to the same symbol as a fresh lookup.
        let last = resolver.record(frames[49])
        #expect(symbols.count == before + 7, "tenant is shared: model-49, v49, t49 are new")
        #expect(symbols.string(last.key.model) == "model-49")
        #expect(symbols.intern("model-49") == last.key.model)
    }

    @Test func aFullTableMapsNewStringsToOverflowAndCountsThem() throws {
        let symbols = SymbolTable(maxSymbols: 4)
        #expect(symbols.intern("a") == 2 && symbols.intern("b") == 3)
        #expect(symbols.intern("c") == SymbolTable.overflow)
        #expect(symbols.intern("a") == 2, "known strings keep their symbol")
        #expect(symbols.overflowed == 1)
        let engine = AggregationEngine(symbols: symbols)
        #expect(engine.counters.named["symbols.interned"] == 4)
        #expect(engine.counters.named["symbols.overflowed"] == 1)
    }
}
