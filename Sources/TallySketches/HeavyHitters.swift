/// The heaviest keys of a weighted stream in `capacity` counters: Space-Saving
/// (Metwally, Agrawal & El Abbadi 2005, "Efficient computation of frequent and top-k
/// elements in data streams"), weighted, with the merge of Cafaro, Pulimeno & Tempesta
/// (2016, "A parallel space saving algorithm for frequent items and the Hurwitz zeta
/// distribution"). For "who is burning the budget": tenants or hashed user ids by cost
/// or by requests, without a counter per key.
///
/// Guarantees, with W the total weight inserted (merged summaries included) and k the
/// capacity: every estimate over-counts by at most its ``Entry/error`` ≤ W/k, never
/// under-counts; every key whose true weight exceeds W/k is held. Estimates are exact
/// while at most k distinct keys were seen.
///
/// Memory: 24 bytes a counter plus a dictionary entry (~40 bytes) for each, allocated as
/// keys arrive. An insert of a held key is a dictionary lookup and a sift in the min-heap
/// of counts (O(log k)); a new key replaces the smallest counter when full.
public struct HeavyHitters: Sendable {
    /// One held key: its estimated weight and the most it may over-count.
    public struct Entry: Sendable, Equatable {
        public var key: UInt64
        /// Estimated weight: true weight ≤ estimate ≤ true weight + error.
        public var estimate: Double
        /// The over-count bound of this key (the smallest counter when it was taken in).
        public var error: Double

        public init(key: UInt64, estimate: Double, error: Double) {
            self.key = key
            self.estimate = estimate
            self.error = error
        }
    }

    /// k: counters kept, 1 … 65,536.
    public let capacity: Int
    /// Total weight inserted (W).
    public private(set) var totalWeight: Double = 0
    /// Inserts refused: weight negative, NaN or infinite.
    public private(set) var rejected: UInt64 = 0
    /// A min-heap of the counters by estimate (ties by key, so merges are deterministic).
    private var heap: [Entry] = []
    /// Where each held key sits in `heap`.
    private var position: [UInt64: Int] = [:]

    /// - Parameter capacity: k, clamped to 1 … 65,536.
    public init(capacity: Int) {
        self.capacity = Swift.min(Swift.max(capacity, 1), 65_536)
    }

    /// A summary from its parts, as a snapshot carries them (SNAPSHOT.md, "Heavy hitters"):
    /// capacity k, total weight W and the held entries.
    /// - Throws: ``SketchError/invalidField(field:detail:)`` when k is out of 1 … 65,536, there are more
    ///   entries than k, W or an estimate or error is negative or not finite, an error
    ///   exceeds its estimate, an estimate exceeds W, or a key repeats.
    public init(capacity: Int, totalWeight: Double, entries: [Entry]) throws(SketchError) {
        guard (1...65_536).contains(capacity) else { throw .invalidField(field: "heavy-hitter capacity", detail: "\(capacity)") }
        guard entries.count <= capacity else { throw .invalidField(field: "heavy-hitter entries", detail: "\(entries.count) over capacity \(capacity)") }
        guard totalWeight.isFinite, totalWeight >= 0 else { throw .invalidField(field: "heavy-hitter total weight", detail: "\(totalWeight)") }
        self.capacity = capacity
        self.totalWeight = totalWeight
        // W bounds every estimate; a merge may round a sum up by a few ulps.
        let ceiling = totalWeight * (1 + 1e-9)
        for e in entries {
            guard e.estimate.isFinite, e.error.isFinite, e.error >= 0, e.error <= e.estimate, e.estimate <= ceiling else {
                throw .invalidField(field: "heavy-hitter entry \(e.key)",
                                    detail: "estimate \(e.estimate), error \(e.error), total \(totalWeight)")
            }
            guard position[e.key] == nil else { throw .invalidField(field: "heavy-hitter key \(e.key)", detail: "repeated") }
            heap.append(e)
            position[e.key] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    /// Every held entry, heaviest first (estimate descending, then key ascending).
    public var entries: [Entry] { heap.sorted(by: HeavyHitters.heavierFirst) }

    /// The largest over-count any estimate may have: W/k.
    public var errorBound: Double { totalWeight / Double(capacity) }

    /// Keys held (≤ capacity).
    public var count: Int { heap.count }

    /// Adds `weight` (≥ 0, finite; otherwise the insert is refused and counted) to `key`.
    public mutating func insert(_ key: UInt64, weight: Double = 1) {
        guard weight >= 0, weight.isFinite else {
            rejected &+= 1
            return
        }
        totalWeight += weight
        if let i = position[key] {
            heap[i].estimate += weight
            siftDown(i)
        } else if heap.count < capacity {
            heap.append(Entry(key: key, estimate: weight, error: 0))
            position[key] = heap.count - 1
            siftUp(heap.count - 1)
        } else {
            // The smallest counter is given to the new key, which may have had that much.
            let smallest = heap[0]
            position[smallest.key] = nil
            heap[0] = Entry(key: key, estimate: smallest.estimate + weight, error: smallest.estimate)
            position[key] = 0
            siftDown(0)
        }
    }

    /// The estimate of `key`: its counter when held, else the most it may have had
    /// (the smallest counter when full, 0 otherwise).
    public func estimate(_ key: UInt64) -> Double {
        if let i = position[key] { return heap[i].estimate }
        return floor
    }

    /// What a key not held may have had: the smallest counter when full, else 0.
    private var floor: Double { heap.count < capacity ? 0 : heap[0].estimate }

    /// The `n` heaviest held keys, by estimate (descending), then key (ascending).
    public func top(_ n: Int) -> [Entry] {
        Array(heap.sorted(by: HeavyHitters.heavierFirst).prefix(Swift.max(0, n)))
    }

    /// The union of two summaries of the same capacity (an error otherwise): for each key
    /// of either, its counters add, a summary not holding it contributing its floor (its
    /// smallest counter when full) to estimate and error; the k heaviest stay. The result
    /// is the same whichever is `self`.
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when the capacities differ.
    public func merged(with other: HeavyHitters) throws(SketchError) -> HeavyHitters {
        guard capacity == other.capacity else {
            throw .parameterMismatch("heavy-hitter capacity \(capacity)/\(other.capacity)")
        }
        let floorA = floor, floorB = other.floor
        // Each key's two contributions, added once as a + b (so swapping the summaries
        // gives the same sums to the last bit).
        var combined: [UInt64: Entry] = [:]
        combined.reserveCapacity(heap.count + other.heap.count)
        for e in heap {
            let b = other.position[e.key].map { other.heap[$0] }
            combined[e.key] = Entry(key: e.key, estimate: e.estimate + (b?.estimate ?? floorB),
                                    error: e.error + (b?.error ?? floorB))
        }
        for e in other.heap where position[e.key] == nil {
            combined[e.key] = Entry(key: e.key, estimate: floorA + e.estimate, error: floorA + e.error)
        }
        var result = HeavyHitters(capacity: capacity)
        result.totalWeight = totalWeight + other.totalWeight
        result.rejected = rejected &+ other.rejected
        let kept = combined.values.sorted(by: HeavyHitters.heavierFirst).prefix(capacity)
        // Sorted heaviest first; reversed it is ascending, which is a valid min-heap.
        result.heap = kept.reversed()
        for (i, e) in result.heap.enumerated() { result.position[e.key] = i }
        return result
    }

    /// The order of ``top(_:)`` and ``entries``: estimate descending, then key ascending.
    public static func heavierFirst(_ a: Entry, _ b: Entry) -> Bool {
        a.estimate != b.estimate ? a.estimate > b.estimate : a.key < b.key
    }

    /// Whether `a` belongs above `b` in the min-heap (smaller estimate, then larger key).
    private static func lighter(_ a: Entry, _ b: Entry) -> Bool {
        a.estimate != b.estimate ? a.estimate < b.estimate : a.key > b.key
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard HeavyHitters.lighter(heap[i], heap[parent]) else { break }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count && HeavyHitters.lighter(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && HeavyHitters.lighter(heap[right], heap[smallest]) { smallest = right }
            guard smallest != i else { return }
            swapAt(i, smallest)
            i = smallest
        }
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        position[heap[i].key] = i
        position[heap[j].key] = j
    }
}
