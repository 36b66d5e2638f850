import Foundation
import TallyCore

/// What the collector's journal recovery did since start (``Collector/counters()``).
struct JournalRecoveryCounters {
    var runs: UInt64 = 0
    var frames: UInt64 = 0
    var windows: UInt64 = 0
    var alreadyStored: UInt64 = 0
    var late: UInt64 = 0
    var future: UInt64 = 0
    var invalidBatches: UInt64 = 0
    var unreadBytes: UInt64 = 0
    var unconfirmed: UInt64 = 0
}

extension Collector {
    /// Replays the journal of every run that died before storing its windows: each
    /// window it had not stored becomes a snapshot (the next sequences), handed to every
    /// sink; once the file sink wrote them (≤ 30 s), the run's segments are deleted.
    /// Runs on the flusher thread before its first flush (ingest is already running).
    func recoverJournal() {
        let window = configuration.engine.window
        for (i, dead) in deadRuns.enumerated() {
            let nextFirst = i + 1 < deadRuns.count ? deadRuns[i + 1].run.firstSequence : journalRun.firstSequence
            // Frames received at t fall in windows ending after t − lateness.
            let oldest = JournalRecovery.oldestReceive(dead) ?? .max
            let since = oldest > window.intervalMicros + window.allowedLatenessMicros
                ? oldest - window.intervalMicros - window.allowedLatenessMicros : 0
            let stored = JournalRecovery.storedWindows(dataDirectory: configuration.dataDirectory,
                                                       sequences: dead.run.firstSequence..<max(nextFirst, dead.run.firstSequence),
                                                       sinceMicros: since)
            let outcome = JournalRecovery.replay(dead, configuration: configuration.engine, stored: stored)
            var last: UInt64?
            for sealed in outcome.windows {
                guard let (sequence, snapshot) = numberedSnapshot(sealed, symbols: outcome.replay.symbols) else { continue }
                let encoded = EncodedSnapshot(sequence: sequence, snapshot: snapshot, bytes: SnapshotCodec.encode(snapshot))
                for sink in sinks { sink.enqueue(encoded) }
                flushLock.withLock { $0.snapshots += 1 }
                last = sequence
                logger.info("journal: recovered \(SnapshotSummary.line(snapshot, sequence: sequence))")
                onSnapshot?(encoded)
            }
            // The segments go once the file sink holds what they recovered.
            var confirmed = true
            if let last {
                let deadline = Date().addingTimeInterval(30)
                while (fileSink.writtenSequence ?? 0) < last || fileSink.writtenSequence == nil {
                    if Date() >= deadline {
                        confirmed = false
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
            for path in dead.files { unlink(path) }
            let replay = outcome.replay
            recovery.withLock {
                $0.runs += 1
                $0.frames += replay.frames
                $0.windows += UInt64(outcome.windows.count)
                $0.alreadyStored += replay.alreadyStored
                $0.late += replay.late
                $0.future += replay.future
                $0.invalidBatches += UInt64(outcome.invalidBatches)
                $0.unreadBytes += UInt64(outcome.unreadBytes)
                if !confirmed { $0.unconfirmed += 1 }
            }
            logger.warning("""
                journal: a run that started at sequence \(dead.run.firstSequence) ended without storing every window: \
                \(replay.frames) frames recovered into \(outcome.windows.count) window(s) from \(outcome.records) batches \
                (\(replay.alreadyStored) frames of windows it had stored, \(replay.late) late, \(replay.future) future, \
                \(outcome.invalidBatches) invalid batches, \(outcome.unreadBytes) torn bytes)\
                \(confirmed ? "" : "; the file sink did not confirm them within 30 s")
                """)
        }
    }

    /// After a flush: records the flush in the watermark and deletes the journal segments
    /// whose windows the file sink has written.
    func releaseJournal(sealedThroughMicros: UInt64) {
        guard !journalWriters.isEmpty else { return }
        let written = fileSink.writtenSequence
        let durable = flushLock.withLock { s -> UInt64 in
            s.journalWatermark.flushed(lastSequence: s.nextSequence == 0 ? nil : s.nextSequence - 1,
                                       sealedThroughMicros: sealedThroughMicros)
            return s.journalWatermark.advance(written: written)
        }
        let pinned = droppedWindows.receiveRanges(configuration.engine.window)
        for writer in journalWriters {
            writer.release(durableMicros: durable, pinned: pinned)
            if writer.hasFailed && writer.reportFailure() {
                logger.error("""
                    ingest journal of \(configuration.endpoints[writer.source]) stopped after a failed write \
                    (disk full or \(writer.directory) gone): until a restart, a SIGKILL would lose this source's unsealed windows
                    """)
            }
        }
    }

    /// True when this process handed no snapshot, or the file sink wrote the last one and
    /// dropped none.
    var everythingHandedIsWritten: Bool {
        let next = flushLock.withLock { $0.nextSequence }
        return droppedWindows.count == 0 && (next == journalRun.firstSequence || fileSink.writtenSequence == next - 1)
    }

    /// `journal.*` counters (STORAGE.md, "The ingest journal").
    var journalCounters: [String: UInt64] {
        var c: [String: UInt64] = [
            "journal.bytes": journalWriters.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) },
            "journal.batches": journalWriters.reduce(0) { $0 + $1.records.load(ordering: .relaxed) },
            "journal.write_errors": journalWriters.reduce(0) { $0 + $1.writeErrors.load(ordering: .relaxed) },
            "journal.segments_deleted": journalWriters.reduce(0) { $0 + $1.segmentsDeleted.load(ordering: .relaxed) },
            "journal.segments_evicted": journalWriters.reduce(0) { $0 + $1.segmentsEvicted.load(ordering: .relaxed) },
            "journal.pinned_windows": UInt64(droppedWindows.count),
        ]
        let r = recovery.withLock { $0 }
        c["journal.recovered_runs"] = r.runs
        c["journal.recovered_frames"] = r.frames
        c["journal.recovered_windows"] = r.windows
        c["journal.recovery_stored_frames"] = r.alreadyStored
        c["journal.recovery_late_frames"] = r.late
        c["journal.recovery_future_frames"] = r.future
        c["journal.recovery_invalid_batches"] = r.invalidBatches
        c["journal.recovery_torn_bytes"] = r.unreadBytes
        c["journal.recovery_unconfirmed_runs"] = r.unconfirmed
        return c
    }
}
