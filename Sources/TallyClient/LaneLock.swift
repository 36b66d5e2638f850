#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The lock of one recording lane: an atomic flag, so that the uncontended path a
/// request takes (``tryLock()`` then ``unlock()``) is one compare-and-swap and one store,
/// not two calls into libpthread (~58 instructions a frame in `client-record-labels`).
///
/// Holders keep it for one append (or a seal, which takes the send queue's lock inside),
/// so ``lock()``, taken only when every lane is busy, spins briefly and then yields the
/// CPU between attempts rather than sleeping in the kernel. Not reentrant.
final class LaneLock: Sendable {
    private let held = Atomic<Bool>(false)

    init() {}

    /// Takes the lock if it is free; never waits.
    @inline(__always) func tryLock() -> Bool {
        held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    /// Takes the lock, waiting for its holder: 64 tries, then a `sched_yield` before each try.
    func lock() {
        var attempts = 0
        while !tryLock() {
            attempts &+= 1
            if attempts > 64 { sched_yield() }
        }
    }

    @inline(__always) func unlock() { held.store(false, ordering: .releasing) }

    @inline(__always) func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
