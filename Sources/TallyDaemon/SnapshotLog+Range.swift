extension SnapshotLog {
    /// The intact records with a sequence in `sequences`, in file order, reading only the
    /// files that can hold them: a file's name carries its first sequence, and the files
    /// of one collector's directory hold ascending sequences, so a file whose successor
    /// starts at or below `sequences.lowerBound` is skipped unread (a catch-up after an
    /// outage does not read the whole retention).
    public static func read(directory: String, sequences: ClosedRange<UInt64>) -> (records: [Record], report: ReadReport) {
        let paths = files(in: directory)
        let firsts = paths.map(firstSequence(ofFile:))
        var records: [Record] = []
        var report = ReadReport()
        for (i, path) in paths.enumerated() {
            if let first = firsts[i], first > sequences.upperBound { continue }
            if i + 1 < paths.count, let next = firsts[i + 1], next <= sequences.lowerBound { continue }
            readRecords(of: path, into: &records, report: &report) { sequences.contains($0) }
        }
        return (records, report)
    }

    /// The first sequence in a file's name (`snapshots-<20 digits>[-n].tly`); nil when the name has none.
    static func firstSequence(ofFile path: String) -> UInt64? {
        guard let name = path.split(separator: "/").last, name.hasPrefix("snapshots-") else { return nil }
        return UInt64(name.dropFirst("snapshots-".count).prefix(20))
    }
}
