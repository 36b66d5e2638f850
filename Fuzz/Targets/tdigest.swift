import TallySketches

/// Fuzz target `tdigest`: the t-digest's binary forms, which arrive inside snapshots:
/// version 1 (`TDigest+Serialization.swift`; inputs whose first byte is below 0x80) and
/// the compact form of version-2 snapshots (`TDigest+CompactSerialization.swift`; a first
/// byte 0x80 + i selects B = 12 + i mod 17 bits, compression 100, k2t-relative, and the
/// rest is the digest). (The PostgreSQL text form is written, never parsed.)
///
/// For a digest that decodes: queries must stay in range (``checkQueries(_:)``);
/// serializing it must give bytes that decode and serialize to themselves; merging it
/// with itself and with a fixed digest must work when the parameters agree, and the
/// result must answer queries too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTDigest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let digest: TDigest, again: TDigest
    if let first = bytes.first, first >= 0x80 {
        let bits = 12 + Int(first - 0x80) % 17
        guard let d = try? TDigest(compactSerialized: Array(bytes.dropFirst()), compression: 100, scale: .k2tRelative,
                                   meanKeyBits: bits) else { return 0 }
        digest = d
        checkQueries(digest)
        again = reserialized(digest, serialize: { $0.compactSerialized(meanKeyBits: bits) }, decode: { (b) throws(SketchError) in
            try TDigest(compactSerialized: b, compression: 100, scale: .k2tRelative, meanKeyBits: bits)
        })
    } else {
        guard let d = try? TDigest(serialized: bytes) else { return 0 }
        digest = d
        checkQueries(digest)
        again = reserialized(digest, serialize: { $0.serialized() }, decode: { (b) throws(SketchError) in try TDigest(serialized: b) })
    }
    fuzzCheck(again.count == digest.count && again.min == digest.min && again.max == digest.max,
              "count, min or max changed in the round trip")

    var fixed = TDigest(compression: digest.compression, scale: digest.scale)
    for i in 0..<100 { fixed.insert(Double(i) * 0.25) }
    for other in [digest, fixed] {
        var merged = digest
        do { try merged.merge(other) } catch { fuzzFailure("merging digests of equal parameters failed: \(error)") }
        fuzzCheck(merged.count == digest.count &+ other.count, "merged count \(merged.count)")
        checkQueries(merged)
    }
    return 0
}

/// Valid digests: empty, one value, a few exact values, many values, each scale.
func fuzzSeeds() -> [[UInt8]] {
    var seeds: [[UInt8]] = []
    for scale in TDigestScale.allCases {
        for (compression, count) in [(10, 0), (10, 1), (50, 7), (100, 1_000)] {
            var digest = TDigest(compression: compression, scale: scale)
            for i in 0..<count { digest.insert(Double((i &* 7_919) % 1_009) - 200.5) }
            seeds.append(digest.serialized())
        }
    }
    var rejected = TDigest(compression: 20)
    rejected.insert(.nan)
    rejected.insert(3)
    rejected.insert(4)
    seeds.append(rejected.serialized())
    // Compact forms (selector byte 0x80 + B − 12) of empty, single, exact and merged digests.
    for (bits, count) in [(21, 0), (21, 1), (21, 7), (21, 1_000), (12, 300), (28, 300)] {
        var digest = TDigest(compression: 100, scale: .k2tRelative)
        for i in 0..<count { digest.insert(Double((i &* 7_919) % 1_009) - 200.5) }
        seeds.append([UInt8(0x80 + bits - 12)] + digest.compactSerialized(meanKeyBits: bits))
    }
    return seeds
}
