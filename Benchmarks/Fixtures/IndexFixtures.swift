import TallyCore
import TallySynthetic
import TallyWire

/// A snapshot of one 10-second window holding `series` series (plus the overflow
/// series, which takes the frames past the cap), folded from synthetic frames of a
/// fleet whose dimensions give far more combinations than `series`: a busy, high-
/// cardinality window as tallyd would flush it, with the cohort tags the default
/// policy rolls up (lang, region, tier).
public func benchmarkSnapshot(series: Int, frames: Int) -> Snapshot {
    var fleet = SyntheticFleet(tenants: 100, users: 200_000)
    fleet.languages = ["en", "de", "fr", "es", "ja"]
    fleet.regions = ["us-east", "eu-central", "ap-south"]
    fleet.canaryShare = 0.1
    let symbols = SymbolTable()
    let resolver = BatchResolver(symbols: symbols, prices: PriceTable())
    let decoder = BatchDecoder()
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    let table = WindowTable(startMicros: 0, maxSeries: series, sketches: SketchParameters())
    var rng = SplitMix64(seed: 13)
    var made = 0
    while made < frames {
        encoder.reset()
        while made < frames, try! encoder.append(fleet.frame(eventTimeMicros: 5_000_000, &rng)) { made += 1 }
        let bytes = Array(encoder.finish(sequence: 0))
        bytes.withUnsafeBytes { raw in
            let view = try! decoder.decode(raw)
            resolver.begin(view)
            for frame in view.frameReferences { table.add(resolver.record(frame)) }
        }
    }
    let window = SealedWindow(startMicros: 0, intervalMicros: 10_000_000, tables: [table])
    return try! Snapshot.build(window, collectorID: "bench", sequence: 0, symbols: symbols, sketches: SketchParameters(),
                               counters: [:])
}

/// `snapshot` moved to window `index` (10 s windows), so an engine sees consecutive windows.
public func shifted(_ snapshot: Snapshot, to index: Int) -> Snapshot {
    var copy = snapshot
    copy.windowStartMicros = UInt64(index) * 10_000_000
    copy.windowEndMicros = copy.windowStartMicros + 10_000_000
    copy.sequences = [.init(collectorID: "bench", first: UInt64(index), last: UInt64(index))]
    return copy
}
