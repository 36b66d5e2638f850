import TallySketches

/// Fuzz target `hll`: the HyperLogLog's binary form (`HyperLogLog+Serialization.swift`:
/// Elias–Fano exact sets, Huffman-coded registers), which arrives inside snapshots.
/// (The postgresql-hll form is written, never parsed.)
///
/// For a sketch that decodes: estimates must be finite and ≥ 0; serializing it must
/// give bytes that decode and serialize to themselves; a union with itself and with a
/// fixed sketch of the same precision must work, and a union with itself must not
/// change the registers' estimate.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHyperLogLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let sketch = try? HyperLogLog(serialized: fuzzBytes(data, size)) else { return 0 }
    checkQueries(sketch)
    _ = reserialized(sketch, serialize: { $0.serialized() }, decode: { (b) throws(SketchError) in try HyperLogLog(serialized: b) })

    var fixed = HyperLogLog(precision: sketch.precision)
    for i in 0..<UInt64(300) { fixed.insert(HyperLogLog.mix(i)) }
    for other in [sketch, fixed] {
        var union = sketch
        do { try union.formUnion(other) } catch { fuzzFailure("a union of equal precisions failed: \(error)") }
        checkQueries(union)
    }
    var selfUnion = sketch
    try? selfUnion.formUnion(sketch)
    fuzzCheck(selfUnion.registerEstimate == sketch.registerEstimate,
              "s ∪ s changed the estimate: \(selfUnion.registerEstimate) vs \(sketch.registerEstimate)")
    return 0
}

/// Valid sketches: empty, exact with few and many keys, dense (single stream and
/// union), at small and default precisions.
func fuzzSeeds() -> [[UInt8]] {
    var seeds: [[UInt8]] = []
    for precision in [4, 6, 10] {
        for count in [0, 1, 5, 60, 2_000] {
            var sketch = HyperLogLog(precision: precision)
            for i in 0..<UInt64(count) { sketch.insert(HyperLogLog.mix(i &* 0x9E37_79B9)) }
            seeds.append(sketch.serialized())
        }
        var a = HyperLogLog(precision: precision), b = HyperLogLog(precision: precision)
        for i in 0..<UInt64(500) { a.insert(HyperLogLog.mix(i)); b.insert(HyperLogLog.mix(i + 250)) }
        if let union = try? HyperLogLog.union([a, b]) { seeds.append(union.serialized()) }
    }
    return seeds
}
