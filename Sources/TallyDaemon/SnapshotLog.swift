#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file sink's on-disk layout: files `snapshots-<first sequence, 20 digits>.tly`
/// in a data directory, each a run of records
///
///     magic "TLYS" (4) · payload length (u32 LE) · CRC-32 of the payload (u32 LE)
///     · sequence (u64 LE) · payload (a SnapshotCodec v1 snapshot)
///
/// A crash can leave the last record of the newest file torn (short, or with a
/// CRC that does not match); readers detect it, count it and skip it — it is never
/// returned as data. Appends after a restart go to a new file.
public enum SnapshotLog {
    static let magic: [UInt8] = Array("TLYS".utf8)
    static let headerBytes = 20
    /// Largest payload accepted on read (a corrupt length is not an allocation request).
    public static let maxPayload = 256 << 20

    /// One stored snapshot.
    public struct Record: Sendable {
        public let sequence: UInt64
        public let payload: [UInt8]
    }

    /// What a read found besides good records.
    public struct ReadReport: Sendable, Equatable {
        /// Records cut short or failing their CRC (skipped).
        public var torn = 0
        /// Files that could not be opened.
        public var unreadable = 0
    }

    /// The snapshot files of `directory`, oldest first.
    public static func files(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix("snapshots-") && name.hasSuffix(".tly") { names.append(name) }
        }
        return names.sorted().map { directory + "/" + $0 }
    }

    /// Every intact record in `directory`, in file order.
    public static func read(directory: String) -> (records: [Record], report: ReadReport) {
        var records: [Record] = []
        var report = ReadReport()
        for path in files(in: directory) { readRecords(of: path, into: &records, report: &report) }
        return (records, report)
    }

    /// Appends the intact records of the file at `path` that `keep` accepts (by sequence),
    /// in file order; counts an unreadable file or a torn record in `report`.
    static func readRecords(of path: String, into records: inout [Record], report: inout ReadReport,
                            keep: (UInt64) -> Bool = { _ in true }) {
        forEachRecord(inFile: path, report: &report) { record in
            if keep(record.sequence) { records.append(record) }
            return true
        }
    }

    /// Calls `body` with each intact record of the file at `path`, in file order, holding one
    /// record in memory at a time; stops when `body` returns false, and then returns false.
    /// An unreadable file, or a torn record (short, without the magic, longer than the rest
    /// of the file or than ``maxPayload``, or failing its CRC), is counted in `report`;
    /// nothing after a torn record in that file is trusted.
    @discardableResult
    static func forEachRecord(inFile path: String, report: inout ReadReport, _ body: (Record) -> Bool) -> Bool {
        guard let file = fopen(path, "rb") else {
            report.unreadable += 1
            return true
        }
        defer { fclose(file) }
        func fileSize() -> Int {
            var info = stat()
            return fstat(fileno(file), &info) == 0 ? Int(info.st_size) : 0
        }
        func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        var size = fileSize()
        var offset = 0
        var header = [UInt8](repeating: 0, count: headerBytes)
        while true {
            let got = header.withUnsafeMutableBytes { fread($0.baseAddress, 1, headerBytes, file) }
            if got == 0 { return true }
            guard got == headerBytes, Array(header[0..<4]) == magic else {
                report.torn += 1
                return true
            }
            let length = Int(u32(header, 4))
            // A corrupt length is not an allocation request: it must fit the file (which a
            // writer may be appending to, hence the second look).
            if length > size - offset - headerBytes { size = fileSize() }
            guard length <= maxPayload, length <= size - offset - headerBytes else {
                report.torn += 1
                return true
            }
            var payload = [UInt8](repeating: 0, count: length)
            let read = length == 0 ? 0 : payload.withUnsafeMutableBytes { fread($0.baseAddress, 1, length, file) }
            guard read == length, CRC32.checksum(payload) == u32(header, 8) else {
                report.torn += 1
                return true
            }
            offset += headerBytes + length
            if !body(Record(sequence: u64(header, 12), payload: payload)) { return false }
        }
    }

    /// The bytes of one record.
    static func encodeRecord(sequence: UInt64, payload: [UInt8]) -> [UInt8] {
        var out = magic
        out.reserveCapacity(headerBytes + payload.count)
        func u32(_ v: UInt32) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        u32(UInt32(payload.count))
        u32(CRC32.checksum(payload))
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: sequence >> (8 * UInt64(i)))) }
        out.append(contentsOf: payload)
        return out
    }
}

/// Appends records to the newest snapshot file, rotating by size and age and deleting
/// the oldest files beyond the retention. Used by one thread (the file sink's).
final class SnapshotLogWriter {
    let directory: String
    let maxBytes: Int
    let retention: Int
    let fsyncEachRecord: Bool
    /// A file is closed once it is this old (seconds), so retention also works by time.
    let maxSeconds: Int
    private var descriptor: Int32 = -1
    private var written = 0
    private var openedAt = 0

    init(directory: String, maxBytes: Int, maxSeconds: Int = 3_600, retention: Int, fsyncEachRecord: Bool) throws(SinkError) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.maxSeconds = maxSeconds
        self.retention = retention
        self.fsyncEachRecord = fsyncEachRecord
        try SnapshotLogWriter.makeDirectory(directory)
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    static func makeDirectory(_ path: String) throws(SinkError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw SinkError("cannot create \(partial): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Appends one snapshot; opens a new file first when there is none yet (a
    /// restart never appends to a file that may end torn) or the current is full.
    func append(sequence: UInt64, payload: [UInt8]) throws(SinkError) {
        if descriptor < 0 || written >= maxBytes || time(nil) - openedAt >= maxSeconds { try rotate(firstSequence: sequence) }
        let record = SnapshotLog.encodeRecord(sequence: sequence, payload: payload)
        var done = 0
        while done < record.count {
            let n = record.withUnsafeBytes { write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                // The file may now end in a partial record: readers skip it; continue in a new file.
                Glibc.close(descriptor); descriptor = -1
                throw SinkError("write failed: \(message)")
            }
            done += n
        }
        written += record.count
        if fsyncEachRecord && fsync(descriptor) != 0 { throw SinkError("fsync failed: \(String(cString: strerror(errno)))") }
    }

    private func rotate(firstSequence: UInt64) throws(SinkError) {
        if descriptor >= 0 { Glibc.close(descriptor); descriptor = -1 }
        var digits = String(firstSequence)
        digits = String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        var path = "\(directory)/snapshots-\(digits).tly"
        var suffix = 0
        while access(path, F_OK) == 0 {  // a file of the same first sequence exists (restart): never append to it
            suffix += 1
            path = "\(directory)/snapshots-\(digits)-\(suffix).tly"
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SinkError("cannot open \(path): \(String(cString: strerror(errno)))") }
        written = 0
        openedAt = time(nil)
        let files = SnapshotLog.files(in: directory)
        for old in files.dropLast(retention) { unlink(old) }
    }

    func close() {
        if descriptor >= 0 {
            if fsyncEachRecord { fsync(descriptor) }
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
