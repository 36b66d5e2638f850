import TallySketches
import TallyWire

/// A series built when its window seals (``WindowTable``: 5 … 31 requests, its first and
/// its stash) gets all its requests at once: each digest's values gathered and added in
/// one pass (``TDigest/insert(integers:)``), the categories sorted once. Request by request
/// (``SeriesAggregate/add(_:)``), every value went through a digest's one-value path and
/// every category through a sorted insert (Benchmarks/README.md, "The seal's build a
/// distribution at a time").
extension SeriesAggregate {
    /// Folds `first` and then `rest` into this empty aggregate: the same aggregate, count for
    /// count and byte for byte, as ``reserve(for:_:cohort:)`` followed by ``add(_:)`` (for a
    /// cohort, ``addCohort(_:)``) of each request in turn.
    /// - Precondition: the aggregate holds no request; `rest` holds at most 1,023 requests
    ///   (a few dozen are meant: the categories' insertion sort is quadratic).
    public mutating func addAll(_ first: FrameValues, _ rest: UnsafeBufferPointer<FrameValues>, cohort: Bool) {
        precondition(requests == 0 && categoryEntries.isEmpty, "addAll into an aggregate that holds requests")
        precondition(rest.count < 1_024, "addAll of over 1,024 requests")
        reserve(for: first, rest, cohort: cohort)
        // The requests are read in place, `first` then `rest`: a copy of them all (64 B each)
        // would take the heap past 16 of them.
        let requests = Requests(first: first, rest: rest)
        // Users and sessions go in all at once (below): one probe a key when their sets
        // have room reserved for them all (``reserve(for:_:cohort:)``), else one by one.
        requests.forEach { r in
            var counted = r
            counted.userHash = 0
            counted.sessionHash = 0
            addCounting(counted, categories: false)
        }
        addDistinctCounts(of: requests, cohort: cohort)
        addCategories(of: requests)
        addIntegers(of: requests)
        addFractions(of: requests, cohort: cohort)
    }

    /// A series' requests as ``addAll(_:_:cohort:)`` gets them: its first, then the rest.
    private struct Requests {
        let first: FrameValues
        let rest: UnsafeBufferPointer<FrameValues>
        var count: Int { 1 + rest.count }

        @inline(__always)
        func forEach(_ body: (FrameValues) -> Void) {
            body(first)
            for r in rest { body(r) }
        }

        /// Writes `value` of each request that has one into `into`, in order; returns them.
        @inline(__always)
        func gather<T>(into buffer: UnsafeMutableBufferPointer<T>, _ value: (FrameValues) -> T?) -> UnsafeBufferPointer<T> {
            var k = 0
            forEach { r in
                if let v = value(r) {
                    buffer[k] = v
                    k &+= 1
                }
            }
            return UnsafeBufferPointer(rebasing: buffer[0..<k])
        }
    }

    /// The known (non-zero) users and, but for a cohort, sessions of `requests`, in request
    /// order, into the distinct counts at once (``HyperLogLog/insert(contentsOf:)``).
    private mutating func addDistinctCounts(of requests: Requests, cohort: Bool) {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: requests.count) { buffer in
            users.insert(contentsOf: requests.gather(into: buffer) { $0.userHash == 0 ? nil : $0.userHash })
            if !cohort { sessions.insert(contentsOf: requests.gather(into: buffer) { $0.sessionHash == 0 ? nil : $0.sessionHash }) }
        }
    }

    /// The categories of `requests` counted into the empty histogram: sorted once and
    /// counted run by run. With more than ``maxCategories`` distinct, which ones the
    /// histogram keeps depends on their order: they are then added one by one.
    private mutating func addCategories(of requests: Requests) {
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: requests.count) { buffer in
            let ids = UnsafeMutableBufferPointer(mutating: requests.gather(into: buffer) { r in
                r.categoryID == WireLimits.noCategory ? nil : r.categoryID
            })
            let k = ids.count
            guard k > 0 else { return }
            // Insertion sort: a few dozen ids at most.
            for i in 1..<k {
                let id = ids[i]
                var j = i
                while j > 0 && ids[j - 1] > id {
                    ids[j] = ids[j - 1]
                    j -= 1
                }
                ids[j] = id
            }
            var distinct = 1
            for i in 1..<k where ids[i] != ids[i - 1] { distinct &+= 1 }
            guard distinct <= SeriesAggregate.maxCategories else {
                // More than the histogram holds: which ones it keeps depends on their order.
                requests.forEach { r in
                    if r.categoryID != WireLimits.noCategory { _ = addCategory(r.categoryID, count: 1) }
                }
                return
            }
            categoryEntries.reserveCapacity(distinct)
            var start = 0
            for i in 1...k where i == k || ids[i] != ids[start] {
                categoryEntries.append(CategoryCount(id: ids[start], count: UInt64(i - start)))
                start = i
            }
        }
    }

    /// The five integer distributions: each one's values gathered in request order and
    /// added at once.
    private mutating func addIntegers(of requests: Requests) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: requests.count) { buffer in
            queueTime.insert(integers: requests.gather(into: buffer) { $0.queueTimeMicros })
            totalLatency.insert(integers: requests.gather(into: buffer) { $0.totalLatencyMicros })
            inputTokens.insert(integers: requests.gather(into: buffer) { $0.inputTokens })
            outputTokens.insert(integers: requests.gather(into: buffer) { $0.outputTokens })
            timeToFirstToken.insert(integers: requests.gather(into: buffer) { r in
                r.timeToFirstTokenMicros == WireLimits.absent32 ? nil : r.timeToFirstTokenMicros
            })
        }
    }

    /// The time per output token (not for a cohort) and the cost of the priced requests.
    private mutating func addFractions(of requests: Requests, cohort: Bool) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: requests.count) { buffer in
            if !cohort { timePerOutputToken.insert(contentsOf: requests.gather(into: buffer) { $0.timePerOutputTokenMicros }) }
            cost.insert(contentsOf: requests.gather(into: buffer) { $0.cost.isNaN ? nil : $0.cost })
        }
    }
}
