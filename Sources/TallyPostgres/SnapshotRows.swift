import NIOCore
import PostgresNIO
import TallyCore
import TallySketches

/// A snapshot as SQL: its window row (with its heavy hitters as the JSON line's array), its
/// series rows and its cohort rows (SCHEMA.md), as parameterised
/// statements. Counters go in as bigint (clamped at 2⁶³ − 1), times as exact
/// microseconds from the epoch, digests in the tdigest extension's text form (NULL
/// when empty), HyperLogLogs in postgresql-hll's FULL bytes.
enum SnapshotRows {
    /// Series rows per INSERT (× ``seriesColumns`` parameters stays under PostgreSQL's 65,535).
    static let rowsPerStatement = 500

    /// A time parameter: exact microseconds since the epoch.
    static func time(_ index: Int) -> String { "('epoch'::timestamptz + $\(index) * interval '1 microsecond')" }

    /// The window row; inserting it returns nothing when the window is already stored.
    static func windowInsert(_ snapshot: Snapshot, sequence: UInt64, schema: String) -> (String, PostgresBindings) {
        var b = PostgresBindings()
        b.append(snapshot.collectorID)
        b.append(Int64(clamping: sequence))
        b.append(Int64(clamping: snapshot.windowStartMicros))
        b.append(Int64(clamping: snapshot.windowEndMicros))
        b.append(snapshot.series.count)
        b.append(Int64(clamping: snapshot.requests))
        b.append(countsJSON(snapshot.counters.map { ($0.key, $0.value) }))
        b.append(snapshot.heavyHittersJSON)
        b.append(Int16(snapshot.cohorts.isEmpty ? 0 : snapshot.cohortSummaries.intersection(.valid).rawValue))
        let sql = """
            INSERT INTO \(schema).windows (collector_id, sequence, window_start, window_end, series_count, requests, counters,
                                          heavy_hitters, cohort_summaries)
            VALUES ($1, $2, \(time(3)), \(time(4)), $5, $6, $7::jsonb, $8::jsonb, $9)
            ON CONFLICT (collector_id, sequence) DO NOTHING RETURNING sequence
            """
        return (sql, b)
    }

    /// The series columns in insert order, each with its parameter's SQL cast.
    static let seriesColumns: [(name: String, cast: String)] = [
        ("collector_id", ""), ("sequence", ""), ("window_start", "time"), ("window_end", "time"),
        ("model", ""), ("model_version", ""), ("prompt_version", ""), ("route", ""), ("ring", ""), ("tags", "::jsonb"),
        ("requests", ""), ("status_ok", ""), ("status_error", ""), ("status_timeout", ""), ("status_rate_limited", ""),
        ("status_cancelled", ""), ("status_other", ""), ("error_classes", "::jsonb"),
        ("refusals", ""), ("escalations", ""), ("fallbacks", ""), ("task_unknown", ""), ("task_success", ""), ("task_failure", ""),
        ("feedback_up", ""), ("feedback_down", ""),
        ("safety_low", ""), ("safety_medium", ""), ("safety_high", ""), ("safety_critical", ""), ("safety_kinds", "::jsonb"),
        ("unpriced", ""), ("cached_input_tokens", ""), ("priced_requests", ""), ("cost_usd", ""),
        ("input_tokens_sum", ""), ("output_tokens_sum", ""), ("total_latency_us_sum", ""),
        ("queue_time_us", "::tdigest"), ("ttft_us", "::tdigest"), ("total_latency_us", "::tdigest"), ("tpot_us", "::tdigest"),
        ("input_tokens", "::tdigest"), ("output_tokens", "::tdigest"), ("cost_usd_digest", "::tdigest"),
        ("users", "::hll"), ("sessions", "::hll"), ("categories", "::jsonb"), ("categories_other", ""),
    ]

    /// INSERTs of every series row, ``rowsPerStatement`` rows each; with `cohorts`, of every
    /// cohort aggregate into `cohorts` (the same columns, SCHEMA.md).
    static func seriesInserts(_ snapshot: Snapshot, sequence: UInt64, schema: String,
                              cohorts: Bool = false) -> [(String, PostgresBindings)] {
        let columns = seriesColumns.map(\.name).joined(separator: ", ")
        let rows = cohorts ? snapshot.cohorts : snapshot.series
        var statements: [(String, PostgresBindings)] = []
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            var b = PostgresBindings(capacity: chunk.count * seriesColumns.count)
            var tuples: [String] = []
            for series in chunk {
                let first = b.count + 1
                append(series, of: snapshot, sequence: sequence, summaries: cohorts ? snapshot.cohortSummaries : [], to: &b)
                let placeholders = seriesColumns.enumerated().map { i, column in
                    column.cast == "time" ? time(first + i) : "$\(first + i)\(column.cast)"
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            statements.append(("INSERT INTO \(schema).\(cohorts ? "cohorts" : "series") (\(columns)) VALUES "
                               + tuples.joined(separator: ", "), b))
            start += chunk.count
        }
        return statements
    }

    /// One series row's parameters, in ``seriesColumns`` order; a digest in `summaries` (a
    /// cohort's summary: no quantiles) is NULL, its sum still in the `_sum` columns.
    static func append(_ series: SnapshotSeries, of snapshot: Snapshot, sequence: UInt64, summaries: SummarizedDigests = [],
                       to b: inout PostgresBindings) {
        func count(_ value: UInt64) { b.append(Int64(clamping: value)) }
        let a = series.aggregate, labels = series.labels
        b.append(snapshot.collectorID)
        count(sequence)
        count(snapshot.windowStartMicros)
        count(snapshot.windowEndMicros)
        b.append(labels.model)
        b.append(labels.modelVersion)
        b.append(labels.promptVersion)
        b.append(labels.route)
        b.append(labels.ring.name)
        var tags = JSONObject()
        for tag in labels.tags { tags.string(tag.key, tag.value) }
        b.append(tags.text)
        count(a.requests)
        for status in 0..<6 { count(a.statusCount(status)) }
        b.append(countsJSON(series.errorClasses.map { ($0.key, $0.value) }))
        count(a.refusals); count(a.escalations); count(a.fallbacks)
        for outcome in 0..<3 { count(a.taskOutcomeCount(outcome)) }
        count(a.feedbackUp); count(a.feedbackDown)
        for severity in 1...4 { count(a.safetyCount(severity)) }
        b.append(countsJSON(a.safetyByKind.enumerated().filter { $0.element > 0 }.map { (String($0.offset), $0.element) }))
        count(a.unpriced)
        count(a.cachedInputTokens)
        count(a.cost.count)
        b.append(a.cost.sum)
        count(UInt64(a.inputTokens.sum))
        count(UInt64(a.outputTokens.sum))
        b.append(a.totalLatency.sum)
        let digests: [(TDigest, SummarizedDigests)] = [
            (a.queueTime, .queueTime), (a.timeToFirstToken, .timeToFirstToken), (a.totalLatency, .totalLatency),
            (a.timePerOutputToken, []), (a.inputTokens, .inputTokens), (a.outputTokens, .outputTokens), (a.cost, .cost),
        ]
        for (digest, part) in digests {
            b.append(!part.isEmpty && summaries.contains(part) ? nil : digest.postgreSQLText())
        }
        b.append(ByteBuffer(bytes: a.users.postgreSQLCompact()))
        b.append(ByteBuffer(bytes: a.sessions.postgreSQLCompact()))
        var categories: [(String, UInt64)] = []
        a.forEachCategory { id, n in categories.append((String(id), n)) }
        b.append(countsJSON(categories))
        count(a.otherCategories)
    }

    /// `{"name": count, …}` in name order.
    static func countsJSON(_ counts: [(String, UInt64)]) -> String {
        var object = JSONObject()
        for (name, value) in counts.sorted(by: { $0.0 < $1.0 }) { object.raw(name, String(value)) }
        return object.text
    }
}
