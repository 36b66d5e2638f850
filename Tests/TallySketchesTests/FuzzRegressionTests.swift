import Testing
import TallySketches

/// Inputs the fuzz targets `tdigest` and `snapshot` (Fuzz/README.md) found, kept as tests.
@Suite struct SketchFuzzRegressionTests {
    /// Found by `tdigest` and `snapshot`: quantiles must stay within [min, max]
    /// (TDigest.quantile's contract), but centroid means are Floats, and a single
    /// value's mean was returned unclamped: 1.0000000000000568 came back as 1.0 < min.
    @Test func quantilesOfSingleValueCentroidsStayWithinMinAndMax() throws {
        var digest = TDigest(compression: 100)
        digest.insert(1.000_000_000_000_056_8)
        digest.insert(145)
        for q in [0.0, 0.001, 0.25, 0.5, 0.75, 0.999, 1.0] {
            let value = digest.quantile(q)
            #expect(value >= digest.min && value <= digest.max, "quantile(\(q)) = \(value)")
        }
        // The same through the serialized form, whose decoder clamps the means it reads.
        let decoded = try TDigest(serialized: digest.serialized())
        for q in [0.0, 0.001, 0.5, 0.999, 1.0] {
            let value = decoded.quantile(q)
            #expect(value >= decoded.min && value <= decoded.max, "decoded quantile(\(q)) = \(value)")
        }
        // Values a Float holds exactly still come back exactly (the order statistics).
        var exact = TDigest(compression: 100)
        for v in [1.5, 2.25, 145.0] { exact.insert(v) }
        #expect(exact.quantile(0.1) == 1.5 && exact.quantile(0.5) == 2.25 && exact.quantile(0.9) == 145)
    }

    /// Found by `tdigest` (CI's 30-s run of 2026-12-05; Fuzz/corpus/tdigest/
    /// regression-single-centroid-rounding): with one centroid the quantile spreads values
    /// uniformly over [min, max], and min + (max − min) · 1 rounded past max (−5 + 5 = 0 for
    /// max = −2.3e−218). A summary (one centroid of many values, ``TDigest/summarized()``)
    /// takes that path too.
    @Test func aSingleCentroidsInterpolationStaysWithinMinAndMax() throws {
        var digest = TDigest(compression: 100)
        digest.insert(-5)
        digest.insert(-2.3e-218)
        digest.insert(-1)
        let summary = digest.summarized()
        #expect(summary.centroidCount == 1)
        for q in [0.0, 0.25, 0.5, 0.999, 1.0] {
            let value = summary.quantile(q)
            #expect(value >= summary.min && value <= summary.max, "quantile(\(q)) = \(value)")
        }
        #expect(summary.quantile(1) == -2.3e-218)
        // The fuzzer's input (compact form at B = 21, the target's first byte 0x89 dropped).
        let found: [UInt8] = [0x04, 0x00, 0x92, 0x00, 0x01, 0x1a, 0x10, 0x01, 0x26, 0x10, 0x69, 0xc0, 0x92, 0x26, 0x01, 0x00,
                              0x10, 0x10, 0x69, 0xc0]
        if let decoded = try? TDigest(compactSerialized: found, compression: 100, scale: .k2tRelative, meanKeyBits: 21) {
            for q in [0.0, 0.5, 1.0] {
                let value = decoded.quantile(q)
                #expect(value >= decoded.min && value <= decoded.max, "decoded quantile(\(q)) = \(value)")
            }
        } else {
            Issue.record("the fuzzer's input no longer decodes: update this test's bytes")
        }
    }

    /// Found by `hll` (Fuzz/corpus/hll/regression-saturated-registers): a union-kind sketch
    /// whose registers are all saturated made Ertl's estimator divide by zero (∞).
    @Test func saturatedRegistersEstimateFinitely() throws {
        let bytes: [UInt8] = [0x14, 0x06, 0x3A, 0x02, 0x41, 0, 0, 0, 0, 0, 0, 0, 0]
        let sketch = try HyperLogLog(serialized: bytes)
        #expect(sketch.estimate == 0x1p64 && sketch.registerEstimate == 0x1p64)
    }
}
