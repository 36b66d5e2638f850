import TallySketches

/// Weighted Space-Saving (Metwally, Agrawal & El Abbadi 2005) over three flat arrays of k
/// slots, for the engine's per-frame path. It keeps the same counters and replaces the same
/// one as ``HeavyHitters`` (the lightest: smallest estimate, then largest key — the heap's
/// root), so after the same inserts ``summary()`` equals that sketch; but an insert is a
/// linear scan of k keys (and, when a new key finds the summary full, one of k estimates)
/// instead of two hash lookups and a heap sift that rewrites a dictionary at every level.
/// That is cheaper for the small k the engine uses (8 … 256).
///
/// Memory: 24 bytes × k, allocated at creation, freed by ``release()``; never grows.
/// Not thread-safe; owned by one ``HeavyHitterTable``.
struct FlatSpaceSaving {
    let capacity: Int
    /// Slots in use (≤ capacity).
    private(set) var count = 0
    /// W: the weight inserted.
    private(set) var totalWeight: Double = 0
    private let keys: UnsafeMutablePointer<UInt64>
    private let estimates: UnsafeMutablePointer<Double>
    private let errors: UnsafeMutablePointer<Double>

    /// - Parameter capacity: k, ≥ 1.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        keys = .allocate(capacity: self.capacity)
        estimates = .allocate(capacity: self.capacity)
        errors = .allocate(capacity: self.capacity)
    }

    /// Frees the slots; the value must not be used afterwards.
    func release() {
        keys.deallocate()
        estimates.deallocate()
        errors.deallocate()
    }

    /// Adds `weight` to `key`. Weights that are not finite and > 0 are ignored (the engine
    /// passes 1 or a priced cost above 0).
    mutating func insert(_ key: UInt64, weight: Double) {
        guard weight > 0, weight.isFinite else { return }
        totalWeight += weight
        // One pass: find the key, and meanwhile the lightest counter in case it is not held.
        var lightest = 0
        var floor = Double.infinity
        for i in 0..<count {
            if keys[i] == key {
                estimates[i] += weight
                return
            }
            let e = estimates[i]
            if e < floor || (e == floor && keys[i] > keys[lightest]) {
                lightest = i
                floor = e
            }
        }
        if count < capacity {
            (keys + count).initialize(to: key)
            (estimates + count).initialize(to: weight)
            (errors + count).initialize(to: 0)
            count += 1
            return
        }
        keys[lightest] = key
        estimates[lightest] = floor + weight
        errors[lightest] = floor
    }

    /// The counters as a ``HeavyHitters`` of the same capacity and total weight.
    func summary() -> HeavyHitters {
        let entries = (0..<count).map { HeavyHitters.Entry(key: keys[$0], estimate: estimates[$0], error: errors[$0]) }
        // Valid by construction (distinct keys, 0 ≤ error ≤ estimate ≤ W up to rounding,
        // which the initializer allows for); an empty summary of the same W otherwise.
        if let summary = try? HeavyHitters(capacity: capacity, totalWeight: totalWeight, entries: entries) { return summary }
        return (try? HeavyHitters(capacity: capacity, totalWeight: totalWeight, entries: [])) ?? HeavyHitters(capacity: capacity)
    }
}
