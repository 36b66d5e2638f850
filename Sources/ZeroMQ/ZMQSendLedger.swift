import CZeroMQ
import Synchronization

/// What became of the messages sent through ``ZMQSocket/send(_:weight:ledger:flags:)``:
/// still held by libzmq, written to a connection, or discarded by libzmq.
///
/// A successful `zmq_send` only means libzmq queued the message in a pipe; with PUSH
/// there is no acknowledgement, and what is still queued when a socket closes and its
/// linger runs out is dropped without a word. So each tracked message is sent zero-copy
/// from a buffer of its own whose free callback libzmq calls when it is done with it:
/// after its engine took the last of its bytes for the connection (they are then in the
/// kernel's socket buffer, or up to 8 KiB in the engine's output buffer on their way
/// there), or when libzmq dropped it. Before ``beginDiscarding()`` a release counts as
/// written; after it, as discarded. An owner that waits for ``held`` to reach 0 before
/// closing (and calls ``beginDiscarding()`` only when it gives up) therefore knows how
/// much of what it sent libzmq threw away.
///
/// Limits (libzmq does not tell a write from a drop): a message dropped while no close
/// is under way (its connection's pipe terminated under `ZMQ_IMMEDIATE` because the peer
/// went away) counts as written; a message under 8 KiB is released when libzmq copies it
/// into its 8-KiB output buffer, so at most that much counts as written before it is; and
/// a message whose last byte was written but whose release waited for the next write
/// event when ``beginDiscarding()`` came counts as discarded though it was delivered (at
/// most one per connection, only when the owner gives up on a peer that is behind).
/// Each message's *weight* is the owner's unit (frames, say).
/// Thread-safe: the callback runs on libzmq's I/O thread.
public final class ZMQSendLedger: Sendable {
    private let handedMessages = Atomic<UInt64>(0)
    private let handedWeight = Atomic<UInt64>(0)
    private let writtenMessages = Atomic<UInt64>(0)
    private let writtenWeightTotal = Atomic<UInt64>(0)
    private let discardedMessages = Atomic<UInt64>(0)
    private let discardedWeightTotal = Atomic<UInt64>(0)
    private let discarding = Atomic<Bool>(false)
    public init() {}

    /// Messages handed to libzmq and not yet released by it.
    public var held: UInt64 {
        // Releases are read first: a release is counted only after its hand-over was.
        let released = writtenMessages.load(ordering: .acquiring) &+ discardedMessages.load(ordering: .acquiring)
        return handedMessages.load(ordering: .acquiring) &- released
    }

    /// Messages and weight released by libzmq before ``beginDiscarding()``.
    public var written: (messages: UInt64, weight: UInt64) {
        (writtenMessages.load(ordering: .acquiring), writtenWeightTotal.load(ordering: .acquiring))
    }

    /// Messages and weight released after ``beginDiscarding()``: dropped by libzmq.
    public var discarded: (messages: UInt64, weight: UInt64) {
        (discardedMessages.load(ordering: .acquiring), discardedWeightTotal.load(ordering: .acquiring))
    }

    /// From now on every release counts as discarded: call it when giving up on what is
    /// still ``held``, just before closing the socket with linger 0.
    public func beginDiscarding() { discarding.store(true, ordering: .sequentiallyConsistent) }

    fileprivate func handed(weight: UInt64) {
        handedWeight.add(weight, ordering: .relaxed)
        handedMessages.add(1, ordering: .releasing)
    }

    /// A send that libzmq refused: its message is freed by the caller, not counted.
    fileprivate func refused(weight: UInt64) {
        handedWeight.subtract(weight, ordering: .relaxed)
        handedMessages.subtract(1, ordering: .releasing)
    }

    fileprivate func released(weight: UInt64) {
        if discarding.load(ordering: .sequentiallyConsistent) {
            discardedWeightTotal.add(weight, ordering: .relaxed)
            discardedMessages.add(1, ordering: .releasing)
        } else {
            writtenWeightTotal.add(weight, ordering: .relaxed)
            writtenMessages.add(1, ordering: .releasing)
        }
    }
}

/// The header before a tracked message's bytes: the ledger (retained while libzmq holds
/// the message), the weight, and whether libzmq took the message.
private struct TrackedHeader {
    var ledger: Unmanaged<ZMQSendLedger>
    var weight: UInt64
    var taken: Bool
}

private let trackedHeaderBytes = ZMQSocket.trackedHeadroom  // ≥ MemoryLayout<TrackedHeader>.stride (17), keeps the bytes 16-aligned

/// libzmq's free callback of tracked messages (`hint` = the allocation's start).
private func releaseTracked(_ data: UnsafeMutableRawPointer?, _ hint: UnsafeMutableRawPointer?) {
    guard let base = hint else { return }
    let header = base.load(as: TrackedHeader.self)
    if header.taken { header.ledger.takeUnretainedValue().released(weight: header.weight) }
    header.ledger.release()
    base.deallocate()
}

extension ZMQSocket {
    /// Sends a copy of `bytes` as one message tracked by `ledger` with `weight` (e.g. the
    /// frames it carries). Same errors as ``send(_:flags:)``; a refused message is not
    /// counted in the ledger.
    public func send(_ bytes: UnsafeRawBufferPointer, weight: UInt64, ledger: ZMQSendLedger,
                     flags: ZMQFlags = []) throws(ZMQError) {
        let base = UnsafeMutableRawPointer.allocate(byteCount: ZMQSocket.trackedHeadroom + bytes.count, alignment: 16)
        if let source = bytes.baseAddress { (base + ZMQSocket.trackedHeadroom).copyMemory(from: source, byteCount: bytes.count) }
        try send(allocation: base, byteCount: bytes.count, weight: weight, ledger: ledger, flags: flags)
    }

    /// Bytes a message sent with ``send(allocation:byteCount:weight:ledger:flags:)`` keeps
    /// before its data (the ledger's record of it).
    public static let trackedHeadroom = 32

    /// Sends the `byteCount` bytes at `allocation + trackedHeadroom` without copying them,
    /// as one message tracked by `ledger` with `weight`. `allocation` (from
    /// `UnsafeMutableRawPointer.allocate(byteCount:alignment:)`, aligned to 16, at least
    /// ``trackedHeadroom`` + `byteCount` bytes) is the message's from this call on:
    /// libzmq frees it when done, or this call does when it throws — never the caller.
    /// Same errors as ``send(_:flags:)``; a refused message is not counted in the ledger.
    public func send(allocation base: UnsafeMutableRawPointer, byteCount: Int, weight: UInt64, ledger: ZMQSendLedger,
                     flags: ZMQFlags = []) throws(ZMQError) {
        let data = base + trackedHeaderBytes
        let handle: UnsafeMutableRawPointer
        do { handle = try open } catch {
            base.deallocate()
            throw error
        }
        let header = base.bindMemory(to: TrackedHeader.self, capacity: 1)
        header.initialize(to: TrackedHeader(ledger: Unmanaged.passRetained(ledger), weight: weight, taken: true))
        var message = zmq_msg_t()
        guard zmq_msg_init_data(&message, data, byteCount, releaseTracked, base) == 0 else {
            let error = ZMQError.last("zmq_msg_init_data")
            header.pointee.ledger.release()
            base.deallocate()
            throw error
        }
        ledger.handed(weight: weight)
        while zmq_msg_send(&message, handle, flags.rawValue) < 0 {
            let error = ZMQError.last("zmq_msg_send")
            if error.isInterrupted && !flags.contains(.dontWait) { continue }
            // Not taken: the message is still ours; closing it runs the callback, uncounted.
            ledger.refused(weight: weight)
            header.pointee.taken = false
            zmq_msg_close(&message)
            throw error
        }
    }
}
