import TallyCore
import TallySketches
import TallyWire

/// Fuzz target `snapshot`: binary snapshots (SNAPSHOT.md) as tallyd reads them back
/// from its files, the replay endpoint and `baseline_snapshot`.
///
/// Every input goes through ``SnapshotCodec/decode(_:)``. For a snapshot it accepts:
/// its re-encoding must decode, and encoding that must give the same bytes again
/// (decode ∘ encode is stable after one canonicalising pass); every digest and
/// HyperLogLog in it must answer queries sensibly (``checkQueries(_:)``).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let snapshot = try? SnapshotCodec.decode(fuzzBytes(data, size)) else { return 0 }
    let encoded = SnapshotCodec.encode(snapshot)
    let again: Snapshot
    do { again = try SnapshotCodec.decode(encoded) } catch {
        fuzzFailure("a re-encoded snapshot does not decode: \(error)")
    }
    fuzzCheck(SnapshotCodec.encode(again) == encoded, "encode(decode(encode(s))) ≠ encode(s)")
    for series in again.series {
        let a = series.aggregate
        for digest in [a.queueTime, a.timeToFirstToken, a.totalLatency, a.timePerOutputToken, a.inputTokens,
                       a.outputTokens, a.cost] {
            checkQueries(digest)
        }
        checkQueries(a.users)
        checkQueries(a.sessions)
    }
    return 0
}

/// A slice with user and tenant heavy hitters (SNAPSHOT.md, "Heavy hitters"), k = 2.
func heavyHitterSeed() -> SliceHeavyHitters {
    var users = HeavyHitters(capacity: 2), cost = HeavyHitters(capacity: 2)
    var tenantRequests = HeavyHitters(capacity: 2), tenantCost = HeavyHitters(capacity: 2)
    for (user, tenant, dollars) in [(7 as UInt64, "acme", 0.25), (9, "globex", 1.5), (7, "acme", 0.125), (11, "initech", 0)] {
        users.insert(user)
        if dollars > 0 { cost.insert(user, weight: dollars) }
        tenantRequests.insert(IdentifierHash.hash(tenant))
        if dollars > 0 { tenantCost.insert(IdentifierHash.hash(tenant), weight: dollars) }
    }
    let names = Dictionary(uniqueKeysWithValues: ["acme", "globex", "initech"].map { (IdentifierHash.hash($0), $0) })
    let tenants = try! TenantHeavyHitters(tagKey: "tenant", byRequests: tenantRequests, byCost: tenantCost,
                                          names: names)
    return SliceHeavyHitters(labels: SeriesLabels(model: "m"), usersByRequests: users, usersByCost: cost, tenants: tenants)
}

/// Valid snapshots from the encoder: no series, and series that use every field, with
/// exact and dense HyperLogLogs, small sketch parameters to keep seeds short.
func fuzzSeeds() -> [[UInt8]] {
    var small = SketchParameters()
    small.compression = 10
    small.hllPrecision = 4
    var standard = SketchParameters()
    standard.compression = 50
    standard.hllPrecision = 6
    let window = SnapshotFixture.windowStart
    let snapshots = [
        Snapshot(collectorID: "c", windowStartMicros: window, windowEndMicros: window + 10_000_000, sequence: 1,
                 sketches: standard, series: [], counters: [:]),
        Snapshot(collectorID: "collector-a", windowStartMicros: window, windowEndMicros: window + 10_000_000, sequence: 42,
                 sketches: small, series: [SnapshotFixture.series("m", values: 1, sketches: small, tags: [])],
                 counters: ["frames.accepted": 1]),
        Snapshot(collectorID: "collector-b", windowStartMicros: window, windowEndMicros: window + 1_000_000, sequence: 7,
                 sketches: standard,
                 series: [SnapshotFixture.series("llama", values: 3, sketches: standard, tags: [CohortTag("tenant", "acme")]),
                          SnapshotFixture.series("mistral", values: 200, sketches: standard,
                                                 tags: [CohortTag("tenant", "acme"), CohortTag("region", "eu")])],
                 counters: ["frames.accepted": 203, "frames.late": 2]),
        Snapshot(collectorID: "c", windowStartMicros: window, windowEndMicros: window + 10_000_000, sequence: 3,
                 sketches: small, series: [SnapshotFixture.series("m", values: 2, sketches: small, tags: [])],
                 counters: [:], heavyHitters: [heavyHitterSeed()]),
    ]
    // Both versions tallyd reads: 2 (compact digests) and 1 (data directories written before it).
    return snapshots.map { SnapshotCodec.encode($0) } + snapshots.map { SnapshotCodec.encode($0, version: 1) }
}
