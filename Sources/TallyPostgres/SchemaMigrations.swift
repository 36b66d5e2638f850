import TallyCore

/// Tally's PostgreSQL schema as numbered migrations (SCHEMA.md is the spec; the
/// tests hold the two together). Migration n brings the schema from version n − 1
/// to n; each runs in one transaction with its row in `schema_version`.
///
/// `{s}` stands for the schema name, `{hll}` for the HyperLogLog column type with its
/// type modifier, `{compression}`, `{scale}` and `{precision}` for the sketch
/// parameters the schema is created for.
enum SchemaMigrations {
    /// The newest version this tallyd knows.
    static var latest: Int { all.count }

    /// postgresql-hll's type modifier for Tally's export (HyperLogLog+PostgreSQL.swift):
    /// log2m = p, register width 6, explicit threshold auto (−1), sparse on (1).
    static func hllType(precision: Int) -> String { "hll(\(precision), 6, -1, 1)" }

    /// Migration `version`'s SQL for `schema` and `sketches`.
    static func sql(_ version: Int, schema: String, sketches: SketchParameters) -> String {
        all[version - 1]
            .replacingOccurrences(of: "{s}", with: schema)
            .replacingOccurrences(of: "{hll}", with: hllType(precision: sketches.hllPrecision))
            .replacingOccurrences(of: "{compression}", with: String(sketches.compression))
            .replacingOccurrences(of: "{scale}", with: String(sketches.scale.rawValue))
            .replacingOccurrences(of: "{precision}", with: String(sketches.hllPrecision))
    }

    static let all: [String] = [version1, version2, version3, version4, version5]

    /// Version 5 (December 2026): which distributions each window's cohort aggregates keep
    /// as summaries (SNAPSHOT.md, `cohort_summaries`), so that the reader gives the snapshot
    /// back with them (its cohorts' digest columns for those are NULL). 0 for windows stored
    /// before, whose cohorts kept every distribution.
    static let version5 = """
    ALTER TABLE {s}.windows ADD COLUMN cohort_summaries smallint NOT NULL DEFAULT 0;
    """

    /// Version 4 (December 2026): the cohort aggregates rolled up per hour like the series,
    /// in `cohorts_hourly` (`series_hourly`'s columns); `roll_up_hour` fills both (one merge
    /// query, run over each table pair), and retention clears both. Hours stored before are
    /// not rolled up here (that could take longer than tallyd's start may wait on a large
    /// database); SCHEMA.md gives the statement that does it.
    static let version4 = """
    CREATE TABLE {s}.cohorts_hourly (LIKE {s}.series_hourly INCLUDING ALL);

    -- (Re)computes the roll-ups of the hour containing `at`: series into series_hourly and
    -- cohorts into cohorts_hourly, merged per label set as Tally merges snapshots (counters
    -- add, digests merge, HyperLogLogs take their union); idempotent. Returns the rows written.
    CREATE OR REPLACE FUNCTION {s}.roll_up_hour(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $fn$
    DECLARE
        h timestamptz := date_trunc('hour', at, 'UTC');
        source text;
        rows_now integer;
        written integer := 0;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('{s}.roll_up_hour'));
        FOREACH source IN ARRAY ARRAY['series', 'cohorts'] LOOP
            EXECUTE format('DELETE FROM %I.%I WHERE hour = $1', '{s}', source || '_hourly') USING h;
            EXECUTE format($q$
                INSERT INTO %1$I.%3$I
                SELECT $1, model, model_version, prompt_version, route, ring, tags,
                       count(*), sum(requests),
                       sum(status_ok), sum(status_error), sum(status_timeout), sum(status_rate_limited), sum(status_cancelled), sum(status_other),
                       %1$I.jsonb_counts_sum(error_classes),
                       sum(refusals), sum(escalations), sum(fallbacks),
                       sum(task_unknown), sum(task_success), sum(task_failure), sum(feedback_up), sum(feedback_down),
                       sum(safety_low), sum(safety_medium), sum(safety_high), sum(safety_critical),
                       %1$I.jsonb_counts_sum(safety_kinds),
                       sum(unpriced), sum(cached_input_tokens), sum(priced_requests), sum(cost_usd),
                       sum(input_tokens_sum), sum(output_tokens_sum), sum(total_latency_us_sum),
                       tdigest(queue_time_us), tdigest(ttft_us), tdigest(total_latency_us), tdigest(tpot_us),
                       tdigest(input_tokens), tdigest(output_tokens), tdigest(cost_usd_digest),
                       hll_union_agg(users), hll_union_agg(sessions),
                       %1$I.jsonb_counts_sum(categories), sum(categories_other)
                FROM %1$I.%2$I
                WHERE window_start >= $1 AND window_start < $1 + interval '1 hour'
                GROUP BY model, model_version, prompt_version, route, ring, tags
                $q$, '{s}', source, source || '_hourly') USING h;
            GET DIAGNOSTICS rows_now = ROW_COUNT;
            written := written + rows_now;
        END LOOP;
        RETURN written;
    END $fn$;

    -- Retention, as version 2's, clearing cohorts_hourly too.
    CREATE OR REPLACE FUNCTION {s}.drop_partitions_before(keep_from date) RETURNS integer LANGUAGE plpgsql AS $fn$
    DECLARE
        part record;
        dropped integer := 0;
    BEGIN
        FOR part IN
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = '{s}' AND p.relname IN ('series', 'cohorts') AND c.relname ~ '^(series|cohorts)_[0-9]{8}$'
              AND to_date(right(c.relname, 8), 'YYYYMMDD') < keep_from
        LOOP
            EXECUTE format('DROP TABLE %I.%I', '{s}', part.relname);
            dropped := dropped + 1;
        END LOOP;
        DELETE FROM {s}.windows WHERE window_start < (keep_from::timestamp AT TIME ZONE 'UTC');
        DELETE FROM {s}.series_hourly WHERE hour < (keep_from::timestamp AT TIME ZONE 'UTC');
        DELETE FROM {s}.cohorts_hourly WHERE hour < (keep_from::timestamp AT TIME ZONE 'UTC');
        RETURN dropped;
    END $fn$;

    """

    /// Version 3 (December 2026): each window's heavy hitters (SNAPSHOT.md, "Heavy hitters")
    /// in `windows.heavy_hitters` as the JSON line's array (snapshot-line.schema.json; NULL
    /// when the collector keeps none), so retention takes them with their window, and a
    /// view with one row per held entry.
    static let version3 = """
    ALTER TABLE {s}.windows ADD COLUMN heavy_hitters jsonb;

    -- One row per held entry of every heavy-hitter summary of every stored window.
    CREATE OR REPLACE VIEW {s}.heavy_hitter_entries AS
    SELECT w.collector_id, w.sequence, w.window_start, w.window_end,
           s.slice->>'model' AS model, s.slice->>'model_version' AS model_version,
           s.slice->>'prompt_version' AS prompt_version, s.slice->>'route' AS route, s.slice->>'ring' AS ring,
           (s.slice->>'capacity')::integer AS capacity, k.summary,
           CASE WHEN k.summary LIKE 'tenants%' THEN s.slice->>'tenant_tag' ELSE '' END AS tag,
           (s.slice->k.summary->>'total')::double precision AS total_weight,
           e.rank::integer AS rank, coalesce(e.entry->>'tenant', e.entry->>'user') AS key,
           (e.entry->>'estimate')::double precision AS estimate, (e.entry->>'error')::double precision AS error
    FROM {s}.windows w
    CROSS JOIN LATERAL jsonb_array_elements(w.heavy_hitters) AS s(slice)
    CROSS JOIN LATERAL unnest(ARRAY['users_by_requests', 'users_by_cost', 'tenants_by_requests', 'tenants_by_cost']) AS k(summary)
    CROSS JOIN LATERAL jsonb_array_elements(s.slice->k.summary->'top') WITH ORDINALITY AS e(entry, rank)
    WHERE w.heavy_hitters IS NOT NULL AND s.slice ? k.summary;
    """

    /// Version 2 (December 2026): cohort aggregates (SNAPSHOT.md, "Cohort aggregates") in
    /// their own table with `series`' columns, so that no query over `series` counts a
    /// frame twice; partitions and retention for both; `users_per_cohort_day` over both.
    static let version2 = """
    CREATE TABLE {s}.cohorts (LIKE {s}.series INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (window_start);
    CREATE INDEX cohorts_by_start_model ON {s}.cohorts (window_start, model);
    CREATE INDEX cohorts_by_window ON {s}.cohorts (collector_id, sequence);

    -- The partitions for the UTC day of `day`: series_YYYYMMDD and cohorts_YYYYMMDD. Safe to call concurrently.
    CREATE OR REPLACE FUNCTION {s}.ensure_partition(day date) RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE
        suffix text := to_char(day, 'YYYYMMDD');
        parent text;
    BEGIN
        IF to_regclass(format('%I.%I', '{s}', 'series_' || suffix)) IS NOT NULL
           AND to_regclass(format('%I.%I', '{s}', 'cohorts_' || suffix)) IS NOT NULL THEN RETURN; END IF;
        PERFORM pg_advisory_xact_lock(hashtext('{s}.ensure_partition'));
        FOREACH parent IN ARRAY ARRAY['series', 'cohorts'] LOOP
            IF to_regclass(format('%I.%I', '{s}', parent || '_' || suffix)) IS NULL THEN
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)', '{s}', parent || '_' || suffix,
                               '{s}', parent, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            END IF;
        END LOOP;
    END $fn$;

    -- Retention: drops the series and cohort partitions of days before `keep_from` (UTC) and
    -- deletes their window rows and hourly roll-ups. Returns the partitions dropped.
    CREATE OR REPLACE FUNCTION {s}.drop_partitions_before(keep_from date) RETURNS integer LANGUAGE plpgsql AS $fn$
    DECLARE
        part record;
        dropped integer := 0;
    BEGIN
        FOR part IN
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = '{s}' AND p.relname IN ('series', 'cohorts') AND c.relname ~ '^(series|cohorts)_[0-9]{8}$'
              AND to_date(right(c.relname, 8), 'YYYYMMDD') < keep_from
        LOOP
            EXECUTE format('DROP TABLE %I.%I', '{s}', part.relname);
            dropped := dropped + 1;
        END LOOP;
        DELETE FROM {s}.windows WHERE window_start < (keep_from::timestamp AT TIME ZONE 'UTC');
        DELETE FROM {s}.series_hourly WHERE hour < (keep_from::timestamp AT TIME ZONE 'UTC');
        RETURN dropped;
    END $fn$;

    -- Distinct users per cohort (tag key and value) per UTC day: series tags and cohort aggregates.
    CREATE OR REPLACE VIEW {s}.users_per_cohort_day AS
    SELECT day, tag, cohort, sum(requests) AS requests, hll_cardinality(hll_union_agg(users)) AS distinct_users
    FROM (SELECT date_trunc('day', s.window_start, 'UTC') AS day, t.key AS tag, t.value AS cohort, s.requests, s.users
          FROM {s}.series s, jsonb_each_text(s.tags) t
          UNION ALL
          SELECT date_trunc('day', c.window_start, 'UTC'), t.key, t.value, c.requests, c.users
          FROM {s}.cohorts c, jsonb_each_text(c.tags) t) r
    GROUP BY 1, 2, 3;
    """

    /// Version 1: sketch parameters, windows, day-partitioned series, partition and
    /// retention functions, the analyst's views and functions, the hourly roll-up.
    static let version1 = """
    CREATE TABLE {s}.sketch_parameters (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        tdigest_compression integer NOT NULL,
        tdigest_scale smallint NOT NULL,
        hll_precision integer NOT NULL
    );
    INSERT INTO {s}.sketch_parameters VALUES (true, {compression}, {scale}, {precision});

    CREATE TABLE {s}.windows (
        collector_id text NOT NULL,
        sequence bigint NOT NULL CHECK (sequence >= 0),
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL CHECK (window_end > window_start),
        series_count integer NOT NULL,
        requests bigint NOT NULL,
        counters jsonb NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        stored_order bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (collector_id, sequence)
    );
    CREATE INDEX windows_by_start ON {s}.windows (window_start);

    CREATE TABLE {s}.series (
        collector_id text NOT NULL,
        sequence bigint NOT NULL,
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        model text NOT NULL,
        model_version text NOT NULL,
        prompt_version text NOT NULL,
        route text NOT NULL,
        ring text NOT NULL CHECK (ring IN ('stable', 'canary', 'shadow')),
        tags jsonb NOT NULL,
        requests bigint NOT NULL,
        status_ok bigint NOT NULL,
        status_error bigint NOT NULL,
        status_timeout bigint NOT NULL,
        status_rate_limited bigint NOT NULL,
        status_cancelled bigint NOT NULL,
        status_other bigint NOT NULL,
        error_classes jsonb NOT NULL,
        refusals bigint NOT NULL,
        escalations bigint NOT NULL,
        fallbacks bigint NOT NULL,
        task_unknown bigint NOT NULL,
        task_success bigint NOT NULL,
        task_failure bigint NOT NULL,
        feedback_up bigint NOT NULL,
        feedback_down bigint NOT NULL,
        safety_low bigint NOT NULL,
        safety_medium bigint NOT NULL,
        safety_high bigint NOT NULL,
        safety_critical bigint NOT NULL,
        safety_kinds jsonb NOT NULL,
        unpriced bigint NOT NULL,
        cached_input_tokens bigint NOT NULL,
        priced_requests bigint NOT NULL,
        cost_usd double precision NOT NULL,
        input_tokens_sum bigint NOT NULL,
        output_tokens_sum bigint NOT NULL,
        total_latency_us_sum double precision NOT NULL,
        queue_time_us tdigest,
        ttft_us tdigest,
        total_latency_us tdigest,
        tpot_us tdigest,
        input_tokens tdigest,
        output_tokens tdigest,
        cost_usd_digest tdigest,
        users {hll} NOT NULL,
        sessions {hll} NOT NULL,
        categories jsonb NOT NULL,
        categories_other bigint NOT NULL
    ) PARTITION BY RANGE (window_start);
    CREATE INDEX series_by_start_model ON {s}.series (window_start, model);
    CREATE INDEX series_by_window ON {s}.series (collector_id, sequence);

    -- The partition for the UTC day of `day`: series_YYYYMMDD. Safe to call concurrently.
    CREATE FUNCTION {s}.ensure_partition(day date) RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE
        name text := 'series_' || to_char(day, 'YYYYMMDD');
    BEGIN
        IF to_regclass(format('%I.%I', '{s}', name)) IS NOT NULL THEN RETURN; END IF;
        PERFORM pg_advisory_xact_lock(hashtext('{s}.ensure_partition'));
        IF to_regclass(format('%I.%I', '{s}', name)) IS NOT NULL THEN RETURN; END IF;
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.series FOR VALUES FROM (%L) TO (%L)', '{s}', name, '{s}',
                       (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    END $fn$;

    -- Retention: drops the series partitions of days before `keep_from` (UTC) and deletes
    -- their window rows and hourly roll-ups. Returns the partitions dropped.
    CREATE FUNCTION {s}.drop_partitions_before(keep_from date) RETURNS integer LANGUAGE plpgsql AS $fn$
    DECLARE
        part record;
        dropped integer := 0;
    BEGIN
        FOR part IN
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = '{s}' AND p.relname = 'series' AND c.relname ~ '^series_[0-9]{8}$'
              AND to_date(substr(c.relname, 8), 'YYYYMMDD') < keep_from
        LOOP
            EXECUTE format('DROP TABLE %I.%I', '{s}', part.relname);
            dropped := dropped + 1;
        END LOOP;
        DELETE FROM {s}.windows WHERE window_start < (keep_from::timestamp AT TIME ZONE 'UTC');
        DELETE FROM {s}.series_hourly WHERE hour < (keep_from::timestamp AT TIME ZONE 'UTC');
        RETURN dropped;
    END $fn$;

    -- Sums of two {"name": count} objects, key by key (error classes, safety kinds, categories).
    CREATE FUNCTION {s}.jsonb_counts_add(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
        SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb) FROM (
            SELECT key, sum(value::numeric)::bigint AS total
            FROM (SELECT * FROM jsonb_each_text(coalesce(a, '{}')) UNION ALL SELECT * FROM jsonb_each_text(coalesce(b, '{}'))) e
            GROUP BY key) s
    $fn$;
    CREATE AGGREGATE {s}.jsonb_counts_sum(jsonb) (SFUNC = {s}.jsonb_counts_add, STYPE = jsonb, INITCOND = '{}');

    -- Hourly roll-up: the series rows of one hour merged per label set, as Tally merges
    -- snapshots (counters add, digests merge, HyperLogLogs take their union).
    CREATE TABLE {s}.series_hourly (
        hour timestamptz NOT NULL,
        model text NOT NULL, model_version text NOT NULL, prompt_version text NOT NULL, route text NOT NULL,
        ring text NOT NULL, tags jsonb NOT NULL,
        windows bigint NOT NULL,
        requests bigint NOT NULL,
        status_ok bigint NOT NULL, status_error bigint NOT NULL, status_timeout bigint NOT NULL,
        status_rate_limited bigint NOT NULL, status_cancelled bigint NOT NULL, status_other bigint NOT NULL,
        error_classes jsonb NOT NULL,
        refusals bigint NOT NULL, escalations bigint NOT NULL, fallbacks bigint NOT NULL,
        task_unknown bigint NOT NULL, task_success bigint NOT NULL, task_failure bigint NOT NULL,
        feedback_up bigint NOT NULL, feedback_down bigint NOT NULL,
        safety_low bigint NOT NULL, safety_medium bigint NOT NULL, safety_high bigint NOT NULL, safety_critical bigint NOT NULL,
        safety_kinds jsonb NOT NULL,
        unpriced bigint NOT NULL, cached_input_tokens bigint NOT NULL, priced_requests bigint NOT NULL,
        cost_usd double precision NOT NULL, input_tokens_sum bigint NOT NULL, output_tokens_sum bigint NOT NULL,
        total_latency_us_sum double precision NOT NULL,
        queue_time_us tdigest, ttft_us tdigest, total_latency_us tdigest, tpot_us tdigest,
        input_tokens tdigest, output_tokens tdigest, cost_usd_digest tdigest,
        users {hll} NOT NULL, sessions {hll} NOT NULL,
        categories jsonb NOT NULL, categories_other bigint NOT NULL,
        PRIMARY KEY (hour, model, model_version, prompt_version, route, ring, tags)
    );

    -- (Re)computes the roll-up of the hour containing `at` from the series rows; idempotent.
    -- Returns the roll-up rows written.
    CREATE FUNCTION {s}.roll_up_hour(at timestamptz) RETURNS integer LANGUAGE plpgsql AS $fn$
    DECLARE
        h timestamptz := date_trunc('hour', at, 'UTC');
        written integer;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('{s}.roll_up_hour'));
        DELETE FROM {s}.series_hourly WHERE hour = h;
        INSERT INTO {s}.series_hourly
        SELECT h, model, model_version, prompt_version, route, ring, tags,
               count(*), sum(requests),
               sum(status_ok), sum(status_error), sum(status_timeout), sum(status_rate_limited), sum(status_cancelled), sum(status_other),
               {s}.jsonb_counts_sum(error_classes),
               sum(refusals), sum(escalations), sum(fallbacks),
               sum(task_unknown), sum(task_success), sum(task_failure), sum(feedback_up), sum(feedback_down),
               sum(safety_low), sum(safety_medium), sum(safety_high), sum(safety_critical),
               {s}.jsonb_counts_sum(safety_kinds),
               sum(unpriced), sum(cached_input_tokens), sum(priced_requests), sum(cost_usd),
               sum(input_tokens_sum), sum(output_tokens_sum), sum(total_latency_us_sum),
               tdigest(queue_time_us), tdigest(ttft_us), tdigest(total_latency_us), tdigest(tpot_us),
               tdigest(input_tokens), tdigest(output_tokens), tdigest(cost_usd_digest),
               hll_union_agg(users), hll_union_agg(sessions),
               {s}.jsonb_counts_sum(categories), sum(categories_other)
        FROM {s}.series
        WHERE window_start >= h AND window_start < h + interval '1 hour'
        GROUP BY model, model_version, prompt_version, route, ring, tags;
        GET DIAGNOSTICS written = ROW_COUNT;
        RETURN written;
    END $fn$;

    -- p50/p95/p99 of total latency and time to first token per model, windows of the last hour (µs).
    CREATE VIEW {s}.latency_last_hour AS
    SELECT model, sum(requests) AS requests,
           tdigest_percentile(total_latency_us, ARRAY[0.5, 0.95, 0.99]) AS latency_us_p50_p95_p99,
           tdigest_percentile(ttft_us, ARRAY[0.5, 0.95, 0.99]) AS ttft_us_p50_p95_p99
    FROM {s}.series
    WHERE window_start >= now() - interval '1 hour'
    GROUP BY model;

    -- Distinct users per cohort (tag key and value) per UTC day.
    CREATE VIEW {s}.users_per_cohort_day AS
    SELECT date_trunc('day', s.window_start, 'UTC') AS day, t.key AS tag, t.value AS cohort,
           sum(s.requests) AS requests,
           hll_cardinality(hll_union_agg(s.users)) AS distinct_users
    FROM {s}.series s, jsonb_each_text(s.tags) t
    GROUP BY 1, 2, 3;

    -- Cost per request (priced requests) and per successful task, per model, windows in [from_time, to_time).
    CREATE FUNCTION {s}.cost_by_model(from_time timestamptz, to_time timestamptz)
    RETURNS TABLE (model text, requests numeric, cost_usd double precision, cost_per_request_usd double precision,
                   successful_tasks numeric, cost_per_successful_task_usd double precision)
    LANGUAGE sql STABLE AS $fn$
        SELECT model, sum(requests), sum(cost_usd),
               sum(cost_usd) / nullif(sum(priced_requests), 0),
               sum(task_success), sum(cost_usd) / nullif(sum(task_success), 0)
        FROM {s}.series WHERE window_start >= from_time AND window_start < to_time
        GROUP BY model
    $fn$;

    -- The same per tenant (the cohort tag `tenant`; '' when a series has none).
    CREATE FUNCTION {s}.cost_by_tenant(from_time timestamptz, to_time timestamptz)
    RETURNS TABLE (tenant text, requests numeric, cost_usd double precision, cost_per_request_usd double precision,
                   successful_tasks numeric, cost_per_successful_task_usd double precision)
    LANGUAGE sql STABLE AS $fn$
        SELECT coalesce(tags->>'tenant', ''), sum(requests), sum(cost_usd),
               sum(cost_usd) / nullif(sum(priced_requests), 0),
               sum(task_success), sum(cost_usd) / nullif(sum(task_success), 0)
        FROM {s}.series WHERE window_start >= from_time AND window_start < to_time
        GROUP BY 1
    $fn$;

    -- Error rate (requests not ok) and refusal rate per ring, windows in [from_time, to_time).
    CREATE FUNCTION {s}.rates_by_ring(from_time timestamptz, to_time timestamptz)
    RETURNS TABLE (ring text, requests numeric, error_rate double precision, refusal_rate double precision)
    LANGUAGE sql STABLE AS $fn$
        SELECT ring, sum(requests),
               (sum(requests) - sum(status_ok))::double precision / nullif(sum(requests), 0),
               sum(refusals)::double precision / nullif(sum(requests), 0)
        FROM {s}.series WHERE window_start >= from_time AND window_start < to_time
        GROUP BY ring
    $fn$;
    """
}
