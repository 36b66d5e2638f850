/// One run of tallyd as the journal names it: the first snapshot sequence the run would
/// write (one past the highest in the data directory when it started) and its start time.
/// The snapshots a run wrote are those from its first sequence up to the next run's.
struct JournalRun: Hashable, Comparable, Sendable {
    var firstSequence: UInt64
    var startedMicros: UInt64

    static func < (a: Self, b: Self) -> Bool { (a.firstSequence, a.startedMicros) < (b.firstSequence, b.startedMicros) }
}

/// The bytes of the ingest journal (STORAGE.md, "The ingest journal"). All integers
/// little-endian.
///
/// File `journal/<first sequence, 20 digits>-<started µs, 20 digits>-<source>-<segment>.tjl`:
/// a 32-byte header — `TALLYJL1` (8 bytes), first sequence (u64), started µs (u64), source
/// (u32), 4 zero bytes — then records. Record: length of the batch (u32), receive time µs
/// (u64), CRC-32 of those 12 bytes (u32), then the batch exactly as received (FORMAT.md).
/// A file ends at its last whole record; a shorter tail (the process died mid-write) is
/// ignored, as is everything after a record whose header check fails.
enum JournalFormat {
    static let magic = Array("TALLYJL1".utf8)
    static let fileHeaderBytes = 32
    static let recordHeaderBytes = 16
    static let fileSuffix = ".tjl"

    static func fileName(run: JournalRun, source: Int, segment: Int) -> String {
        func padded(_ v: UInt64) -> String {
            let digits = String(v)
            return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        }
        return "\(padded(run.firstSequence))-\(padded(run.startedMicros))-\(source)-\(segment)\(fileSuffix)"
    }

    /// The run of a journal file name; nil for any other name.
    static func run(ofFile name: String) -> JournalRun? {
        guard name.hasSuffix(fileSuffix) else { return nil }
        let parts = name.dropLast(fileSuffix.count).split(separator: "-")
        guard parts.count == 4, let first = UInt64(parts[0]), let started = UInt64(parts[1]),
              Int(parts[2]) != nil, Int(parts[3]) != nil else { return nil }
        return JournalRun(firstSequence: first, startedMicros: started)
    }

    static func fileHeader(run: JournalRun, source: Int) -> [UInt8] {
        var out = magic
        append(&out, run.firstSequence)
        append(&out, run.startedMicros)
        append(&out, UInt64(UInt32(truncatingIfNeeded: source)))
        return out
    }

    static func encodeRecordHeader(_ out: inout [UInt8], length: Int, receivedMicros: UInt64) {
        let length = UInt32(truncatingIfNeeded: length)
        for i in 0..<4 { out[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
        for i in 0..<8 { out[4 + i] = UInt8(truncatingIfNeeded: receivedMicros >> (8 * UInt64(i))) }
        let check = out.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<12])) }
        for i in 0..<4 { out[12 + i] = UInt8(truncatingIfNeeded: check >> (8 * UInt32(i))) }
    }

    /// What a journal file holds: its records' receive times and batch byte ranges.
    struct Contents {
        var records: [(receivedMicros: UInt64, batch: Range<Int>)] = []
        /// Bytes after the last whole record (a torn tail) or after a failed header check.
        var unreadBytes = 0
        var headerValid = false
    }

    /// Parses a whole journal file's bytes (no copy of the batches: ranges into `bytes`).
    static func parse(_ bytes: [UInt8]) -> Contents {
        var contents = Contents()
        guard bytes.count >= fileHeaderBytes, Array(bytes[0..<8]) == magic else {
            contents.unreadBytes = bytes.count
            return contents
        }
        contents.headerValid = true
        var at = fileHeaderBytes
        while at + recordHeaderBytes <= bytes.count {
            let length = Int(u32(bytes, at))
            let received = u64(bytes, at + 4)
            let check = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[at..<(at + 12)])) }
            guard check == u32(bytes, at + 12), at + recordHeaderBytes + length <= bytes.count else { break }
            contents.records.append((received, (at + recordHeaderBytes)..<(at + recordHeaderBytes + length)))
            at += recordHeaderBytes + length
        }
        contents.unreadBytes = bytes.count - at
        return contents
    }

    /// The receive time of a file's first record from the file's first 48 bytes; nil when
    /// the header or the record header is missing or fails its check.
    static func parseFirstRecordHeader(_ head: [UInt8]) -> UInt64? {
        guard head.count >= fileHeaderBytes + recordHeaderBytes, Array(head[0..<8]) == magic else { return nil }
        let at = fileHeaderBytes
        let check = head.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[at..<(at + 12)])) }
        return check == u32(head, at + 12) ? u64(head, at + 4) : nil
    }

    private static func append(_ out: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
    private static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
}
