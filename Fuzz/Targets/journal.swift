import TallyCore
import TallyWire

/// Fuzz target `journal`: a segment file of the ingest journal (STORAGE.md, "The ingest
/// journal") as a restarting tallyd reads it, whole: ``JournalFormat/parse(_:)``, then
/// each record's batch validated (``BatchDecoder``) and replayed (``JournalReplay``) the
/// way recovery does. Checks: the records tile the file from its header without overlap,
/// and what is left unread is exactly the rest; every frame of every valid batch is
/// counted once (aggregated, late, future or in a stored window) and the windows hold the
/// aggregated ones. libFuzzer calls the target from one thread only.
nonisolated(unsafe) let journalDecoder = BatchDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournal(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let contents = JournalFormat.parse(bytes)
    guard contents.headerValid else {
        fuzzCheck(contents.records.isEmpty && contents.unreadBytes == bytes.count, "a file without the header yields nothing")
        return 0
    }
    var at = JournalFormat.fileHeaderBytes
    for record in contents.records {
        fuzzCheck(record.batch.lowerBound == at + JournalFormat.recordHeaderBytes, "records are back to back")
        fuzzCheck(record.batch.upperBound <= bytes.count, "a record stays inside the file")
        at = record.batch.upperBound
    }
    fuzzCheck(contents.unreadBytes == bytes.count - at, "unread bytes are the rest of the file")

    var configuration = EngineConfiguration()
    configuration.window = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 2_000_000, futureToleranceMicros: 60_000_000)
    configuration.shards = 2
    configuration.maxSeriesPerShardWindow = 64
    configuration.maxSymbols = 4_096
    let replay = JournalReplay(configuration: configuration, skipping: [1_763_700_000_000_000])
    var framesInValidBatches: UInt64 = 0
    bytes.withUnsafeBytes { raw in
        for record in contents.records {
            guard let view = try? journalDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[record.batch])) else { continue }
            framesInValidBatches += UInt64(view.frameCount)
            replay.add(view, receivedMicros: record.receivedMicros)
        }
    }
    fuzzCheck(replay.frames + replay.late + replay.future + replay.alreadyStored == framesInValidBatches,
              "every frame of a valid batch is counted once")
    fuzzCheck(replay.windows().reduce(0) { $0 + $1.frames } == replay.frames, "the windows hold the aggregated frames")
    return 0
}

/// Journal files from the code's own writer format: empty, one batch, several batches
/// with receive times around their frames' windows, and a torn tail.
func fuzzSeeds() -> [[UInt8]] {
    let run = JournalRun(firstSequence: 3, startedMicros: 1_763_700_000_000_000)
    let frame = TraceFrame(eventTimeMicros: 1_763_700_000_500_000, model: "llama-3.1-70b-instruct", ring: .canary,
                           tags: [CohortTag("tenant", "acme")], totalLatencyMicros: 950_000, inputTokens: 100,
                           outputTokens: 20, userHash: 9)
    var later = frame
    later.eventTimeMicros += 1_000_000
    let encoder = BatchEncoder(capacity: 65_536, producerID: 7)
    func batch(_ frames: [TraceFrame]) -> [UInt8] {
        encoder.reset()
        for f in frames { _ = try! encoder.append(f) }
        return Array(encoder.finish(sequence: 1))
    }
    func file(_ records: [(UInt64, [UInt8])]) -> [UInt8] {
        var out = JournalFormat.fileHeader(run: run, source: 0)
        for (received, batch) in records {
            var header = [UInt8](repeating: 0, count: JournalFormat.recordHeaderBytes)
            JournalFormat.encodeRecordHeader(&header, length: batch.count, receivedMicros: received)
            out += header + batch
        }
        return out
    }
    let several = file([(1_763_700_000_600_000, batch([frame, frame])), (1_763_700_001_600_000, batch([later])),
                        (1_763_700_009_000_000, batch([frame])), (1_763_700_001_700_000, batch([]))])
    return [file([]), file([(1_763_700_000_600_000, batch([frame]))]), several, Array(several.dropLast(7))]
}
