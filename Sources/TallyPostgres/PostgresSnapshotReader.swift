import Foundation
import Logging
import NIOCore
import PostgresNIO
import TallyCore
import TallySketches
import TallyWire

/// Reads stored windows back from PostgreSQL as ``Snapshot``s: one per (collector,
/// sequence) row of `windows` with its `series` rows (SCHEMA.md), so that the index can be
/// computed fleet-wide from every collector's rows (`tally-index --postgres-url`), with the
/// same per-window merge as snapshots from data directories.
///
/// What comes back equals what was stored except where the columns hold less than a
/// snapshot: digests are read with `tdigest_send` (full precision) but keep no minimum
/// or maximum (the extreme centroids' means stand in; sums come from the sum columns
/// where the schema has them: total latency, input and output tokens, cost), and the
/// HyperLogLogs come back as registers (no exact keys: small counts are estimated, very
/// closely, rather than counted). Heavy hitters come back whole (`windows.heavy_hitters`).
public enum PostgresSnapshotReader {
    /// The snapshots of the windows starting in `from ..< to` (µs since the epoch), in
    /// (window start, collector, sequence) order, and one line per row that could not
    /// be read (skipped, with the reason).
    public struct ReadResult: Sendable {
        public var snapshots: [Snapshot] = []
        public var problems: [String] = []
    }

    /// 10000-01-01T00:00:00Z in µs since the epoch: later bounds mean "no bound".
    static let latestMicros: UInt64 = 253_402_300_800_000_000

    /// Rows read at most (windows plus series rows); past it the read is refused, so a
    /// careless range cannot take the tool's memory (narrow the range).
    public static let maxRows = 500_000

    /// - Throws: ``PostgresSinkError`` when the server cannot be reached or refuses, the
    ///   schema is missing, or the range holds more than ``maxRows`` rows.
    public static func read(settings: PostgresSettings, from: UInt64, to: UInt64, logger: Logger) throws(PostgresSinkError) -> ReadResult {
        let session = try PostgresSession.open(settings, logger: logger)
        defer { session.close() }
        let schema = settings.schema
        let parameters = try session.query("""
            SELECT tdigest_compression::bigint, tdigest_scale::bigint, hll_precision::bigint FROM \(schema).sketch_parameters
            """)
        guard let row = parameters.first, let (compression, scaleRaw, precision) = try? row.decode((Int, Int, Int).self),
              let scale = TDigestScale(rawValue: UInt8(clamping: scaleRaw)) else {
            throw .server("\(schema).sketch_parameters is empty or unreadable")
        }
        var sketches = SketchParameters()
        sketches.compression = compression
        sketches.scale = scale
        sketches.hllPrecision = precision

        // Bounds past year 9999 are clamped (PostgreSQL's timestamp arithmetic overflows far before 2⁶³ µs).
        var range = PostgresBindings()
        range.append(Int64(min(from, Self.latestMicros)))
        range.append(Int64(min(to, Self.latestMicros)))
        let within = "window_start >= \(SnapshotRows.time(1)) AND window_start < \(SnapshotRows.time(2))"
        let count = try session.query("""
            SELECT (SELECT count(*) FROM \(schema).windows WHERE \(within)) + (SELECT count(*) FROM \(schema).series WHERE \(within))
                   + (SELECT count(*) FROM \(schema).cohorts WHERE \(within))
            """, range)
        if let total = try? count.first?.decode(Int64.self), total > Int64(maxRows) {
            throw .server("\(total) rows in the range; at most \(maxRows) are read at once (narrow --from/--to)")
        }

        var result = ReadResult()
        struct Header {
            var collector: String; var sequence: UInt64; var start: UInt64; var end: UInt64; var counters: [String: UInt64]
            var heavyHitters: [SliceHeavyHitters]; var cohortSummaries: SummarizedDigests
        }
        var headers: [Header] = []
        for row in try session.query("""
            SELECT collector_id, sequence, (extract(epoch FROM window_start) * 1000000)::bigint,
                   (extract(epoch FROM window_end) * 1000000)::bigint, counters::text, heavy_hitters::text,
                   cohort_summaries::bigint
            FROM \(schema).windows WHERE \(within) ORDER BY window_start, collector_id, sequence
            """, range) {
            do {
                let (collector, sequence, start, end, counters, hitters, summaryBits) =
                    try row.decode((String, Int64, Int64, Int64, String, String?, Int64).self)
                guard let bits = UInt8(exactly: summaryBits), SummarizedDigests.valid.isSuperset(of: SummarizedDigests(rawValue: bits)) else {
                    throw RowError("cohort_summaries \(summaryBits)")
                }
                headers.append(Header(collector: collector, sequence: UInt64(sequence), start: UInt64(start), end: UInt64(end),
                                      counters: try counts(counters), heavyHitters: try hitters.map(heavyHitters) ?? [],
                                      cohortSummaries: SummarizedDigests(rawValue: bits)))
            } catch {
                result.problems.append("a windows row: \(error)")
            }
        }

        var seriesOf: [String: [SnapshotSeries]] = [:], cohortsOf: [String: [SnapshotSeries]] = [:]
        let digests = ["queue_time_us", "ttft_us", "total_latency_us", "tpot_us", "input_tokens", "output_tokens", "cost_usd_digest"]
        for table in ["series", "cohorts"] {
            for row in try session.query("""
                SELECT collector_id, sequence, model, model_version, prompt_version, route, ring, tags::text, requests,
                       status_ok, status_error, status_timeout, status_rate_limited, status_cancelled, status_other,
                       error_classes::text, refusals, escalations, fallbacks, task_unknown, task_success, task_failure,
                       feedback_up, feedback_down, safety_low, safety_medium, safety_high, safety_critical, safety_kinds::text,
                       unpriced, cached_input_tokens, cost_usd, input_tokens_sum::float8, output_tokens_sum::float8,
                       total_latency_us_sum, \(digests.map { "tdigest_send(\($0))" }.joined(separator: ", ")),
                       users::text, sessions::text, categories::text, categories_other
                FROM \(schema).\(table) WHERE \(within)
                """, range) {
                let cells = row.makeRandomAccess()
                let key = (try? cells[0].decode(String.self)) ?? "?"
                let sequence = (try? cells[1].decode(Int64.self)) ?? -1
                do {
                    let read = try series(cells, sketches: sketches)
                    if table == "series" {
                        seriesOf["\(key)|\(sequence)", default: []].append(read)
                    } else {
                        guard read.labels.tags.count == 1 else { throw RowError("a cohort row with \(read.labels.tags.count) tags") }
                        cohortsOf["\(key)|\(sequence)", default: []].append(read)
                    }
                } catch {
                    result.problems.append("a \(table) row of \(key) #\(sequence): \(error)")
                }
            }
        }
        for header in headers {
            let series = seriesOf["\(header.collector)|\(header.sequence)"] ?? []
            var snapshot = Snapshot(collectorID: header.collector, windowStartMicros: header.start, windowEndMicros: header.end,
                                    sequence: header.sequence, sketches: sketches, series: series, counters: header.counters,
                                    cohorts: cohortsOf["\(header.collector)|\(header.sequence)"] ?? [],
                                    heavyHitters: header.heavyHitters)
            if !snapshot.cohorts.isEmpty { snapshot.cohortSummaries = header.cohortSummaries }
            result.snapshots.append(snapshot)
        }
        return result
    }

    /// A row's cell could not be read as what SCHEMA.md says it holds.
    struct RowError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One series row (columns in the order of ``read(settings:from:to:logger:)``'s query).
    static func series(_ cells: PostgresRandomAccessRow, sketches: SketchParameters) throws -> SnapshotSeries {
        var column = 2
        func text() throws -> String {
            defer { column += 1 }
            return try cells[column].decode(String.self)
        }
        func count() throws -> UInt64 {
            defer { column += 1 }
            let value = try cells[column].decode(Int64.self)
            guard value >= 0 else { throw RowError("column \(column): negative count \(value)") }
            return UInt64(value)
        }
        func double() throws -> Double {
            defer { column += 1 }
            return try cells[column].decode(Double.self)
        }
        let model = try text(), version = try text(), prompt = try text(), route = try text(), ringName = try text()
        guard let ring = DeploymentRing.allCases.first(where: { $0.name == ringName }) else { throw RowError("ring \(ringName)") }
        let tags = try strings(try text()).map { CohortTag($0.key, $0.value) }
        var a = SeriesAggregate(sketches: sketches)
        a.requests = try count()
        a.statusCounts = try (0..<6).map { _ in try count() }
        let errorClasses = try counts(try text())
        a.refusals = try count(); a.escalations = try count(); a.fallbacks = try count()
        a.taskOutcomes = try (0..<3).map { _ in try count() }
        a.feedbackUp = try count(); a.feedbackDown = try count()
        a.safetyBySeverity = [0] + (try (0..<4).map { _ in try count() })
        var kinds = [UInt64](repeating: 0, count: 16)
        for (bit, n) in try counts(try text()) {
            guard let index = Int(bit), kinds.indices.contains(index) else { throw RowError("safety kind \(bit)") }
            kinds[index] = n
        }
        a.safetyByKind = kinds
        a.unpriced = try count()
        a.cachedInputTokens = try count()
        let costSum = try double(), inputSum = try double(), outputSum = try double(), latencySum = try double()
        func digest(sum: Double?) throws -> TDigest {
            defer { column += 1 }
            guard let buffer = try cells[column].decode(ByteBuffer?.self) else {
                return TDigest(compression: sketches.compression, scale: sketches.scale, bufferCapacity: sketches.digestBuffer)
            }
            return try TDigest(postgreSQLSend: Array(buffer.readableBytesView), compression: sketches.compression,
                               scale: sketches.scale, sum: sum)
        }
        a.queueTime = try digest(sum: nil)
        a.timeToFirstToken = try digest(sum: nil)
        a.totalLatency = try digest(sum: latencySum)
        a.timePerOutputToken = try digest(sum: nil)
        a.inputTokens = try digest(sum: inputSum)
        a.outputTokens = try digest(sum: outputSum)
        a.cost = try digest(sum: costSum)
        func hll() throws -> HyperLogLog {
            let sketch = try HyperLogLog(postgreSQL: try hex(try text()))
            guard sketch.precision == sketches.hllPrecision else {
                throw RowError("HyperLogLog precision \(sketch.precision), the schema's is \(sketches.hllPrecision)")
            }
            return sketch
        }
        a.users = try hll()
        a.sessions = try hll()
        var categories: [UInt16: UInt64] = [:]
        for (id, n) in try counts(try text()) {
            guard let value = UInt16(id), value != WireLimits.noCategory else { throw RowError("category \(id)") }
            categories[value] = n
        }
        a.categories = categories
        a.otherCategories = try count()
        return SnapshotSeries(labels: SeriesLabels(model: model, modelVersion: version, promptVersion: prompt, route: route,
                                                   ring: ring, tags: tags),
                              aggregate: a, errorClasses: errorClasses)
    }

    /// A jsonb object of counts (`{"name": n, …}`).
    static func counts(_ json: String) throws -> [String: UInt64] {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw RowError("not a JSON object: \(json.prefix(80))")
        }
        var result: [String: UInt64] = [:]
        for (key, value) in object {
            guard let number = value as? NSNumber, let n = UInt64(exactly: number.doubleValue) else {
                throw RowError("\(key): not a count")
            }
            result[key] = n
        }
        return result
    }

    /// A jsonb object of strings (`{"tenant": "acme", …}`).
    static func strings(_ json: String) throws -> [String: String] {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] else {
            throw RowError("not a JSON object of strings: \(json.prefix(80))")
        }
        return object
    }

    /// The bytes of PostgreSQL's hex text form of a bytea-like value (`\x0a1b…`).
    static func hex(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count >= 2, digits[0] == UInt8(ascii: "\\"), digits[1] == UInt8(ascii: "x"), digits.count % 2 == 0 else {
            throw RowError("not hex: \(text.prefix(40))")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw RowError("not a hex digit: \(c)")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2 - 1)
        for i in stride(from: 2, to: digits.count, by: 2) { bytes.append(try nibble(digits[i]) << 4 | nibble(digits[i + 1])) }
        return bytes
    }
}
