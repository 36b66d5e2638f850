import Testing
@testable import TallyClient

/// The lanes' spin lock excludes: increments of a plain (non-atomic) counter from several
/// threads under it add up exactly, through both `lock()` and `tryLock()`.
@Suite struct LaneLockTests {
    final class Counter: @unchecked Sendable { var value = 0 }

    @Test func incrementsUnderTheLockAddUp() {
        let lock = LaneLock(), counter = Counter()
        let threads = 4, perThread = 50_000
        let workers = (0..<threads).map { t in
            Thread {
                for i in 0..<perThread {
                    if (i ^ t) & 1 == 0 {
                        lock.withLock { counter.value &+= 1 }
                    } else {
                        while !lock.tryLock() {}
                        counter.value &+= 1
                        lock.unlock()
                    }
                }
            }
        }
        workers.forEach { $0.join() }
        #expect(counter.value == threads * perThread)
        #expect(lock.tryLock(), "free after every holder unlocked")
        #expect(!lock.tryLock(), "held once taken")
        lock.unlock()
    }
}
