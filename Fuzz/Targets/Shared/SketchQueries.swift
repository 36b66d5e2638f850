import TallySketches

/// Queries a decoded t-digest: quantiles lie in [min, max], the CDF in [0, 1]; an
/// empty digest answers NaN. Traps (a finding) otherwise.
func checkQueries(_ digest: TDigest) {
    for q in [0.0, 0.001, 0.25, 0.5, 0.9, 0.99, 1.0] {
        let value = digest.quantile(q)
        if digest.count == 0 {
            fuzzCheck(value.isNaN, "quantile(\(q)) of an empty digest is \(value)")
        } else {
            fuzzCheck(value >= digest.min && value <= digest.max,
                      "quantile(\(q)) = \(value) outside [\(digest.min), \(digest.max)]")
        }
    }
    guard digest.count > 0 else { return }
    for x in [digest.min, digest.mean, digest.max, digest.min - 1, digest.max + 1] where x.isFinite {
        let p = digest.cdf(x)
        fuzzCheck(p >= 0 && p <= 1, "cdf(\(x)) = \(p)")
    }
}

/// Queries a decoded HyperLogLog: the estimate is finite and ≥ 0. Traps otherwise.
func checkQueries(_ sketch: HyperLogLog) {
    let estimate = sketch.estimate
    fuzzCheck(estimate.isFinite && estimate >= 0, "estimate \(estimate)")
    let registers = sketch.registerEstimate
    fuzzCheck(registers.isFinite && registers >= 0, "register estimate \(registers)")
}

/// Serializes a decoded sketch and decodes the bytes: that must work, and serializing
/// the result must give the same bytes (the form is stable after one canonicalising
/// pass). Returns the decoded copy; traps otherwise.
func reserialized<Sketch>(_ sketch: Sketch, serialize: (Sketch) -> [UInt8],
                          decode: ([UInt8]) throws(SketchError) -> Sketch) -> Sketch {
    let bytes = serialize(sketch)
    let again: Sketch
    do { again = try decode(bytes) } catch { fuzzFailure("re-serialized \(Sketch.self) does not decode: \(error)") }
    fuzzCheck(serialize(again) == bytes, "serialized(decode(serialized(s))) ≠ serialized(s) for \(Sketch.self)")
    return again
}
