import Synchronization

/// A bounded, lock-free ring for exactly one producer thread and one consumer
/// thread (Lamport's single-producer/single-consumer queue, with acquire/release
/// indices). Elements are plain values copied in, and moved out (`pop`) or read where they
/// sit (`front`, then `dropFront`). `push` fails instead of blocking when the ring is full;
/// `pop` and `front` return nil when it is empty.
///
/// The producer's and consumer's indices sit on separate cache lines, and each side
/// keeps a private copy of the other's index, reading the shared one only when its
/// copy says full (producer) or empty (consumer): the shared line then moves between
/// the two cores about once per burst instead of on every push and pop (Rigtorp's
/// "cached index" SPSC queue).
public final class SPSCRing<Element>: @unchecked Sendable {
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Element>
    /// Next slot the producer writes; written by the producer only.
    private let tail = Atomic<Int>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Next slot the consumer reads; written by the consumer only.
    private let head = Atomic<Int>(0)
    /// [0]: the producer's copy of `head`; [8]: the consumer's copy of `tail` (a cache
    /// line apart). Behind a pointer: a class `var` would cost exclusivity checks.
    private let cached: UnsafeMutablePointer<Int>

    /// - Parameter capacity: rounded up to a power of two, at least 2.
    public init(capacity: Int) {
        var size = 2
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        slots = .allocate(capacity: size)
        cached = .allocate(capacity: 16)
        cached.initialize(repeating: 0, count: 16)
    }

    deinit {
        var h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .relaxed)
        while h != t {
            (slots + (h & mask)).deinitialize(count: 1)
            h &+= 1
        }
        slots.deallocate()
        cached.deallocate()
    }

    /// Producer only. Returns false, leaving `element` unqueued, when full.
    public func push(_ element: Element) -> Bool {
        let t = tail.load(ordering: .relaxed)
        if t &- cached[0] >= capacity {
            cached[0] = head.load(ordering: .acquiring)
            if t &- cached[0] >= capacity { return false }
        }
        (slots + (t & mask)).initialize(to: element)
        tail.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Consumer only. The oldest element, or nil when empty.
    public func pop() -> Element? {
        let h = head.load(ordering: .relaxed)
        if h == cached[8] {
            cached[8] = tail.load(ordering: .acquiring)
            if h == cached[8] { return nil }
        }
        let element = (slots + (h & mask)).move()
        head.store(h &+ 1, ordering: .releasing)
        return element
    }

    /// Consumer only. The oldest element where it sits in the ring, or nil when empty: the
    /// consumer reads it in place and then calls ``dropFront()``. Until then the slot stays
    /// the consumer's (the producer cannot reuse it), so the pointer is valid.
    @inline(__always)
    public func front() -> UnsafePointer<Element>? {
        let h = head.load(ordering: .relaxed)
        if h == cached[8] {
            cached[8] = tail.load(ordering: .acquiring)
            if h == cached[8] { return nil }
        }
        return UnsafePointer(slots + (h & mask))
    }

    /// Consumer only, after ``front()`` gave an element: removes it and hands its slot
    /// back to the producer.
    @inline(__always)
    public func dropFront() {
        let h = head.load(ordering: .relaxed)
        (slots + (h & mask)).deinitialize(count: 1)
        head.store(h &+ 1, ordering: .releasing)
    }

    /// Elements pushed since the ring was made (wrapping); read from any thread.
    public var pushedCount: Int { tail.load(ordering: .acquiring) }
    /// Elements popped or dropped (``dropFront()``) since the ring was made (wrapping);
    /// read from any thread.
    public var poppedCount: Int { head.load(ordering: .acquiring) }

    /// Elements queued (exact only when both sides are quiet).
    public var count: Int { tail.load(ordering: .acquiring) &- head.load(ordering: .acquiring) }
}
