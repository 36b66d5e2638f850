import Synchronization
import TallyCore

/// Windows the file sink dropped in this run (its queue stayed full through the flusher's
/// wait, or its writes failed past their retries): the journal keeps the segments that may
/// hold their frames (``JournalWriter/release(durableMicros:pinned:)``) and is not removed
/// at a clean stop, so the next start recovers them from it (STORAGE.md, "The ingest
/// journal"). At most ``capacity`` windows, the newest; an older one is then forgotten and
/// its segments may go.
final class DroppedWindows: Sendable {
    static let capacity = 1_024
    private let starts = Mutex<[UInt64]>([])

    /// Notes the window starting at `startMicros` (µs); false when it was already noted.
    @discardableResult
    func note(startMicros: UInt64) -> Bool {
        starts.withLock { starts in
            guard !starts.contains(startMicros) else { return false }
            starts.append(startMicros)
            if starts.count > DroppedWindows.capacity { starts.removeFirst(starts.count - DroppedWindows.capacity) }
            return true
        }
    }

    var count: Int { starts.withLock { $0.count } }

    /// The receive times (µs, collector clock) at which frames of the dropped windows can
    /// have arrived under `policy`: from a window's start less the future tolerance to its
    /// seal time (its end plus the lateness; later frames were late).
    func receiveRanges(_ policy: WindowPolicy) -> [ClosedRange<UInt64>] {
        starts.withLock { starts in
            starts.map { start in
                let first = start > policy.futureToleranceMicros ? start - policy.futureToleranceMicros : 0
                return first...max(first, policy.sealTime(ofWindowStarting: start))
            }
        }
    }
}
