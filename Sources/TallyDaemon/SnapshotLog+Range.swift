extension SnapshotLog {
    /// The intact records with a sequence in `sequences`, in file order, reading only the
    /// files that can hold them: a file's name carries its first sequence, and the files
    /// of one collector's directory hold ascending sequences, so a file whose successor
    /// starts at or below `sequences.lowerBound` is skipped unread (a catch-up after an
    /// outage does not read the whole retention). Reading stops once `maxRecords` records
    /// or `maxBytes` of payload are taken (the first record is always taken), so one
    /// request cannot pull a whole data directory into memory.
    public static func read(directory: String, sequences: ClosedRange<UInt64>, maxRecords: Int = .max,
                            maxBytes: Int = .max) -> (records: [Record], report: ReadReport) {
        let paths = files(in: directory)
        let firsts = paths.map(firstSequence(ofFile:))
        var records: [Record] = []
        var report = ReadReport()
        var bytes = 0
        for (i, path) in paths.enumerated() {
            if let first = firsts[i], first > sequences.upperBound { continue }
            if i + 1 < paths.count, let next = firsts[i + 1], next <= sequences.lowerBound { continue }
            let more = forEachRecord(inFile: path, report: &report) { record in
                guard sequences.contains(record.sequence) else { return true }
                if !records.isEmpty && (records.count >= maxRecords || bytes + record.payload.count > maxBytes) { return false }
                records.append(record)
                bytes += record.payload.count
                return true
            }
            if !more { break }
        }
        return (records, report)
    }

    /// The highest sequence stored in `directory` (nil when it holds no intact record),
    /// reading files from the newest back until one has an intact record; one record in
    /// memory at a time.
    public static func newestSequence(directory: String) -> (sequence: UInt64?, report: ReadReport) {
        var report = ReadReport()
        for path in files(in: directory).reversed() {
            var newest: UInt64? = nil
            forEachRecord(inFile: path, report: &report) { record in
                newest = max(newest ?? 0, record.sequence)
                return true
            }
            if let newest { return (newest, report) }
        }
        return (nil, report)
    }

    /// Calls `body` with the newest `count` intact records of `directory` in file order (of
    /// one collector: ascending sequence), holding one record in memory at a time: files are
    /// counted from the newest back until they hold `count` records, then read forward.
    public static func forEachNewest(_ count: Int, directory: String, report: inout ReadReport,
                                     _ body: (Record) -> Void) {
        guard count > 0 else { return }
        let paths = files(in: directory)
        var first = paths.count, held = 0
        var counting = ReadReport()
        while first > 0 && held < count {
            first -= 1
            forEachRecord(inFile: paths[first], report: &counting) { _ in
                held += 1
                return true
            }
        }
        var skip = max(0, held - count)
        for path in paths[first...] {
            forEachRecord(inFile: path, report: &report) { record in
                if skip > 0 { skip -= 1 } else { body(record) }
                return true
            }
        }
    }

    /// The first sequence in a file's name (`snapshots-<20 digits>[-n].tly`); nil when the name has none.
    static func firstSequence(ofFile path: String) -> UInt64? {
        guard let name = path.split(separator: "/").last, name.hasPrefix("snapshots-") else { return nil }
        return UInt64(name.dropFirst("snapshots-".count).prefix(20))
    }
}
