import Dispatch
import NIOCore
import Synchronization

/// Waits for a postgres-nio future from a plain thread for at most `seconds`: the
/// sink's thread must never block forever on a server that stopped answering (a query
/// whose connection died mid-flight, a startup the server never finished). Returns nil
/// when the time ran out; the future may still complete later, and its owner must then
/// clean up (close the connection).
/// - Throws: the future's error.
func waitAtMost<T: Sendable>(_ seconds: Double, for future: EventLoopFuture<T>) throws -> T? {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    future.whenComplete { result in
        outcome.withLock { $0 = result }
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return try outcome.withLock { $0 }?.get()
}
