/// How far the data directory is safe: the collector-clock time (µs) up to which every
/// window that could have sealed is also written by the file sink. A journal segment
/// whose windows all seal by then can go (``JournalWriter/release(durableMicros:)``).
///
/// Each flush records the engine's sealed-through clock read before it collected the
/// sealed windows (every window sealing by then is in this flush or an earlier one) with
/// the last sequence handed to the sinks so far; the clock becomes durable once the file
/// sink has written that sequence. Flusher thread only.
struct JournalWatermark {
    private var pending: [(sequence: UInt64?, sealedThroughMicros: UInt64)] = []
    private(set) var durableMicros: UInt64 = 0

    /// After a flush: `lastSequence` is the newest sequence handed to the sinks so far
    /// (nil before the first), `sealedThroughMicros` the engine's clock read before it.
    mutating func flushed(lastSequence: UInt64?, sealedThroughMicros: UInt64) {
        if let last = pending.last, last.sequence == lastSequence {
            pending[pending.count - 1].sealedThroughMicros = max(last.sealedThroughMicros, sealedThroughMicros)
        } else {
            pending.append((lastSequence, sealedThroughMicros))
        }
    }

    /// Advances with the file sink's newest written sequence (nil: none yet); returns the
    /// durable clock.
    mutating func advance(written: UInt64?) -> UInt64 {
        while let first = pending.first, first.sequence == nil || (written.map { first.sequence! <= $0 } ?? false) {
            durableMicros = max(durableMicros, first.sealedThroughMicros)
            pending.removeFirst()
        }
        return durableMicros
    }
}
