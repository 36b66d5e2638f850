/// tallyd's own counters (``TallyDaemon/Collector/counters()``, dotted names) as
/// metric families, through ONE table: dotted pattern (`*` = one segment, captured as
/// the next label) → metric name, type, HELP, labels, scale.
public enum DaemonMetrics {
    public struct Mapping: Sendable {
        public var pattern: String
        /// For a counter, without `_total`.
        public var metric: String
        public var type: MetricType
        public var help: String
        /// One name per `*` of the pattern, in order.
        public var labels: [String]
        /// Factor to the metric's unit (µs → s).
        public var scale: Double
        public var unit: String?

        init(_ pattern: String, _ metric: String, _ type: MetricType, _ help: String, labels: [String] = [],
             scale: Double = 1, unit: String? = nil) {
            self.pattern = pattern
            self.metric = metric
            self.type = type
            self.help = help
            self.labels = labels
            self.scale = scale
            self.unit = unit
        }
    }

    public static let table: [Mapping] = [
        .init("frames.accepted", "tally_frames_accepted", .counter, "Frames the engine accepted into a window."),
        .init("frames.aggregated", "tally_frames_aggregated", .counter, "Frames folded into a series by a shard."),
        .init("frames.folded", "tally_frames_folded", .counter, "Frames folded into the overflow series (series limit, a producer's share of it, or the memory limit reached)."),
        .init("dropped.*", "tally_frames_dropped", .counter, "Frames the engine dropped, by reason.", labels: ["reason"]),
        .init("shard.*.frames", "tally_shard_frames", .counter, "Frames aggregated, by shard.", labels: ["shard"]),
        .init("windows.sealed_tables", "tally_windows_sealed_tables", .counter, "Shard window tables sealed."),
        .init("ingest.batches", "tally_ingest_batches", .counter, "Valid batches received over ZeroMQ."),
        .init("ingest.bytes", "tally_ingest_bytes", .counter, "Bytes of valid batches received over ZeroMQ."),
        .init("ingest.frames", "tally_ingest_frames", .counter, "Frames in valid batches received over ZeroMQ."),
        .init("ingest.rejected.*", "tally_ingest_rejected", .counter, "Batches rejected at ingest, by reason.", labels: ["reason"]),
        .init("ingest.dropped.shutdown_batches", "tally_ingest_shutdown_dropped_batches", .counter,
              "Batches still in ZeroMQ's queues when the shutdown drain ended."),
        .init("ingest.dropped.shutdown_frames", "tally_ingest_shutdown_dropped_frames", .counter,
              "Frames in batches still in ZeroMQ's queues when the shutdown drain ended."),
        .init("ingest.connections.accepted", "tally_ingest_connections_accepted", .counter, "Ingest connections accepted (before admission)."),
        .init("ingest.connections.open", "tally_ingest_connections_open", .gauge, "Ingest connections open now."),
        .init("ingest.refused.*", "tally_ingest_refused", .counter, "Ingest connections refused by the admission gate, by reason.",
              labels: ["reason"]),
        .init("ingest.max_connections", "tally_ingest_max_connections", .gauge, "Configured cap on open ingest connections."),
        .init("ingest.receive_queue_batches", "tally_ingest_receive_queue_batches", .gauge,
              "Receive queue per ingest connection, in batches (derived from the memory budget)."),
        .init("symbols.interned", "tally_symbols_interned", .gauge, "Distinct strings in the symbol table."),
        .init("symbols.overflowed", "tally_symbols_overflowed", .counter,
              "Strings mapped to ~overflow~ because the symbol table, or the producer's share of it, was full."),
        .init("symbols.released", "tally_symbols_released", .counter,
              "Symbols released for reuse because no window or queued frame used them any more."),
        .init("sink.*.delivered", "tally_sink_delivered", .counter, "Snapshots delivered, by sink.", labels: ["sink"]),
        .init("sink.*.failures", "tally_sink_failures", .counter, "Failed snapshot deliveries, by sink.", labels: ["sink"]),
        .init("sink.*.retries", "tally_sink_retries", .counter, "Snapshot delivery retries, by sink.", labels: ["sink"]),
        .init("sink.*.queue_depth", "tally_sink_queue_depth", .gauge, "Snapshots queued for a sink.", labels: ["sink"]),
        .init("sink.*.queue_bytes", "tally_sink_queue_bytes", .gauge, "Bytes of snapshots queued for a sink or being delivered.",
              labels: ["sink"], unit: "bytes"),
        .init("sink.*.queue_max_bytes", "tally_sink_queue_max_bytes", .gauge, "A sink's share of the memory budget for its queue.",
              labels: ["sink"], unit: "bytes"),
        .init("sink.*.dropped.*", "tally_sink_dropped", .counter, "Snapshots a sink dropped, by sink and reason.",
              labels: ["sink", "reason"]),
        .init("flush.micros", "tally_flush_duration_seconds", .gauge, "Duration of the last window's flush (snapshot, index, hand-off).",
              scale: 1e-6, unit: "seconds"),
        .init("snapshot.bytes", "tally_snapshot_size_bytes", .gauge, "Encoded size of the last snapshot.", unit: "bytes"),
        .init("snapshots", "tally_snapshots", .counter, "Snapshots flushed since start."),
        .init("index.windows", "tally_index_windows", .counter, "Windows the index evaluated."),
        .init("index.refused", "tally_index_refused", .counter, "Windows the index refused (not after the last one)."),
        .init("replay.snapshots_served", "tally_replay_snapshots_served", .counter, "Stored snapshots served over the replay endpoint."),
        .init("producer.*.frames", "tally_producer_frames", .counter, "Frames received, by producer id.", labels: ["producer"]),
        .init("producer.*.ingest_dropped", "tally_producer_ingest_dropped", .counter,
              "Frames of a producer's valid batches the engine dropped at ingest (ring full, stopping), by producer id.",
              labels: ["producer"]),
        .init("frames.folded_memory", "tally_frames_folded_memory", .counter,
              "Frames folded into an overflow series because the window tables reached their share of the memory budget."),
        .init("series.histograms_refused", "tally_series_histograms_refused", .counter,
              "Busy series refused memory for their histogram front ends: they stay on their t-digests (slower, as exact)."),
        .init("tags.dropped", "tally_tags_dropped", .counter,
              "Frame tags dropped at ingest: keys neither in series_tags nor in breakdown_keys."),
        .init("cohorts.refused", "tally_cohorts_refused", .counter,
              "Frames a cohort aggregate could not take (series cap or memory budget); the frames are in their series."),
        .init("heavy_hitters.refused", "tally_heavy_hitters_refused", .counter,
              "Frames with a user whose slice got no heavy-hitter summaries (slice cap or memory budget); the frames are in their series."),
        .init("engine.memory_bytes", "tally_engine_memory_bytes", .gauge,
              "What the window tables hold, counted at each series' worst case.", unit: "bytes"),
        .init("engine.memory_limit_bytes", "tally_engine_memory_limit_bytes", .gauge,
              "The window tables' share of the memory budget (0: no limit).", unit: "bytes"),
        .init("producers.active", "tally_producers_active", .gauge,
              "Producers with a batch within the last minute (or two windows and their lateness): the fair shares' divisor."),
        .init("producer.*.folded", "tally_producer_folded", .counter,
              "Frames folded into a window's overflow series (the series cap or the producer's share of it, the memory limit, or a full symbol table), by producer id.",
              labels: ["producer"]),
        .init("producer.*.late", "tally_producer_late", .counter,
              "Frames dropped as late (their window was sealed when the shard took them), by producer id.",
              labels: ["producer"]),
        .init("producer.*.future", "tally_producer_future", .counter,
              "Frames dropped as future (stamped past the future tolerance), by producer id.",
              labels: ["producer"]),
        .init("producer.*.memory_bytes", "tally_producer_memory_bytes", .gauge,
              "What the window tables hold for each producer's series, counted at each series' worst case (0 without a memory budget), by producer id.",
              labels: ["producer"], unit: "bytes"),
        .init("otlp.requests", "tally_otlp_requests", .counter, "OTLP/HTTP export requests received."),
        .init("otlp.spans", "tally_otlp_spans", .counter, "Spans in accepted OTLP/HTTP requests."),
        .init("otlp.frames", "tally_otlp_frames", .counter, "Frames from OTLP spans handed to the engine."),
        .init("otlp.engine_dropped", "tally_otlp_engine_dropped", .counter, "OTLP frames the engine's ingest port dropped."),
        .init("otlp.queued", "tally_otlp_queued", .gauge, "OTLP frames waiting for the OTLP ingest thread."),
        .init("otlp.skipped.*", "tally_otlp_skipped", .counter, "OTLP spans skipped (no GenAI attributes), by reason.",
              labels: ["reason"]),
        .init("otlp.rejected.*", "tally_otlp_rejected", .counter, "OTLP GenAI spans that could not become a frame, by reason.",
              labels: ["reason"]),
        .init("otlp.refused.*", "tally_otlp_refused", .counter, "OTLP/HTTP requests refused whole (4xx/5xx), by reason.",
              labels: ["reason"]),
        .init("otlp.bad_data.*", "tally_otlp_bad_data", .counter, "OTLP/HTTP bodies that did not decode, by reason.",
              labels: ["reason"]),
        .init("otlp.encoder_rejected.*", "tally_otlp_encoder_rejected", .counter,
              "OTLP frames the wire encoder refused, by reason (a mapping gap).", labels: ["reason"]),
        .init("producer.*.batches", "tally_producer_batches", .counter, "Batches received, by producer id.", labels: ["producer"]),
        .init("journal.bytes", "tally_journal_written_bytes", .counter, "Bytes appended to the ingest journal.", unit: "bytes"),
        .init("journal.batches", "tally_journal_batches", .counter, "Batches appended to the ingest journal."),
        .init("journal.write_errors", "tally_journal_write_errors", .counter,
              "Ingest journal writes that failed (the journal stops for that ingest thread; ingest goes on)."),
        .init("journal.segments_deleted", "tally_journal_segments_deleted", .counter,
              "Journal segments deleted once their windows were stored."),
        .init("journal.segments_evicted", "tally_journal_segments_evicted", .counter,
              "Journal segments deleted before their windows were stored: the journal reached 4 GiB an ingest endpoint (the file sink stopped writing)."),
        .init("journal.pinned_windows", "tally_journal_pinned_windows", .gauge,
              "Windows the file sink dropped in this run: the journal keeps their segments and the next start recovers them."),
        .init("journal.recovered_runs", "tally_journal_recovered_runs", .counter,
              "Earlier runs that died with windows unstored, recovered from the journal at start."),
        .init("journal.recovered_frames", "tally_journal_recovered_frames", .counter,
              "Frames recovered from the journal into windows the dead run had not stored."),
        .init("journal.recovered_windows", "tally_journal_recovered_windows", .counter, "Snapshots made from the journal at start."),
        .init("journal.recovery_stored_frames", "tally_journal_recovery_stored_frames", .counter,
              "Journaled frames left out at recovery: their window was already stored."),
        .init("journal.recovery_late_frames", "tally_journal_recovery_late_frames", .counter,
              "Journaled frames late when they arrived (dropped then, left out again)."),
        .init("journal.recovery_future_frames", "tally_journal_recovery_future_frames", .counter,
              "Journaled frames beyond the future tolerance when they arrived (left out again)."),
        .init("journal.recovery_invalid_batches", "tally_journal_recovery_invalid_batches", .counter,
              "Journaled batches that failed validation at recovery (skipped)."),
        .init("journal.recovery_torn_bytes", "tally_journal_recovery_torn_bytes", .counter,
              "Journal bytes after the last whole record of a segment (the process died mid-write).", unit: "bytes"),
        .init("journal.recovery_unconfirmed_runs", "tally_journal_recovery_unconfirmed_runs", .counter,
              "Recovered runs whose snapshots the file sink did not confirm within 30 s."),
    ]

    /// The mapping of a dotted name with the captured label values, or nil when no entry matches.
    public static func match(_ name: String) -> (mapping: Mapping, values: [String])? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for mapping in table {
            let pattern = mapping.pattern.split(separator: ".", omittingEmptySubsequences: false)
            guard pattern.count == parts.count else { continue }
            var values: [String] = []
            var matched = true
            for (p, part) in zip(pattern, parts) {
                if p == "*" { values.append(String(part)) } else if p != part { matched = false; break }
            }
            if matched { return (mapping, values) }
        }
        return nil
    }

    /// Families in table order; names the table does not know are counted, not exported.
    public static func families(_ counters: [String: UInt64]) -> (families: [MetricFamily], unmapped: [String]) {
        var byMetric: [String: MetricFamily] = [:]
        var unmapped: [String] = []
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) {
            guard let (mapping, values) = match(name) else { unmapped.append(name); continue }
            var family = byMetric[mapping.metric]
                ?? MetricFamily(name: mapping.metric, type: mapping.type, help: mapping.help, unit: mapping.unit)
            family.add(Array(zip(mapping.labels, values)), Double(value) * mapping.scale)
            byMetric[mapping.metric] = family
        }
        var seen = Set<String>()
        let ordered = table.compactMap { mapping -> MetricFamily? in
            guard seen.insert(mapping.metric).inserted else { return nil }
            return byMetric[mapping.metric]
        }
        return (ordered, unmapped)
    }
}
