extension Policy {
    /// The commented default policy (`tallyd --print-default-policy`). A policy file is
    /// read over it: keys it sets replace these, the rest stay.
    public static let defaultText = #"""
        # Tally index policy: what "healthy" means for this fleet. TOML (the same strict
        # subset as tallyd's configuration): unknown keys and out-of-range values stop
        # tallyd at start, naming the file, line and key. A policy file is read over this
        # default: set only what you change; `enabled = false` removes a KPI threshold or an SLO.
        #
        # Units: seconds for times, fractions (0 … 1) for rates and shares, US dollars for
        # cost. A light is green, yellow or red; below its minimum sample it is
        # insufficient_data, never green. Alerts fire on red unless a KPI says otherwise.

        [index]
        # Scope kinds judged: fleet, model, model_version, prompt_version, route, ring,
        # model_ring (model × deployment ring; the canary comparison needs it).
        scopes = ["fleet", "model", "model_version", "prompt_version", "route", "ring", "model_ring"]
        # Tag keys whose values become scopes (lang=de) and fairness cohorts.
        cohort_keys = ["lang", "region", "tier"]
        # Rolling spans besides the single window (s, m, h, d). Each is merged from at most
        # span_blocks + 1 partial roll-ups, never from all its windows.
        spans = ["5m", "1h", "24h"]
        span_blocks = 12

        [alerts]
        firing_after_windows = 2     # a breach must persist this many windows to fire (pending before)
        resolved_after_windows = 3   # healthy windows before a firing alert resolves
        no_data_after_windows = 2    # a watched scope missing this many windows raises no_data
        no_data_min_requests = 100   # watched: ≥ this many requests in each of its last reporting windows
        no_data_scopes = ["fleet", "model", "model_version"]
        # Scope kinds whose KPI lights page ("cohort": every cohort scope). The rest show
        # their lights without alerting, so one regression pages once, not once per scope
        # that contains it (its version, route, prompt version, ring, …).
        kpi_scopes = ["fleet", "model", "model_ring", "cohort"]

        # ── KPI thresholds ────────────────────────────────────────────────────────────
        # direction: higher_is_worse (green while ≤ green, yellow while ≤ yellow, red above)
        # or lower_is_worse (green while ≥ green, yellow while ≥ yellow, red below).
        # min_requests: the sample a scope needs (for task success and feedback: requests
        # with a known outcome / with feedback). alert: red (default), yellow or none.

        # The production-AI literature's example: p95 total latency green below 2.5 s,
        # yellow to 4 s, red above.
        [kpis.latency_p95]
        direction = "higher_is_worse"
        green = 2.5
        yellow = 4.0
        min_requests = 200
        owner = "inference-platform"
        action_yellow = "investigate: check queue depth, batch sizes and recent deploys"
        action_red = "freeze rollouts; roll back the last change or shed load"

        # p99 is noisier: a larger sample before judging.
        [kpis.latency_p99]
        green = 5.0
        yellow = 8.0
        min_requests = 1000
        owner = "inference-platform"
        alert = "none"

        # Time to first token is what a chat user feels.
        [kpis.ttft_p95]
        green = 1.0
        yellow = 2.0
        min_requests = 200
        owner = "inference-platform"
        action_red = "freeze rollouts; check prefill capacity and roll back"

        [kpis.queue_p95]
        green = 0.5
        yellow = 1.0
        min_requests = 200
        owner = "capacity"
        action_yellow = "investigate: scale out or rebalance"
        action_red = "add capacity now; shed low-priority traffic"

        # Failures the user sees. A healthy fleet stays under 1 %.
        [kpis.error_rate]
        green = 0.01
        yellow = 0.05
        min_requests = 200
        owner = "inference-platform"
        action_red = "roll back the last change; page the serving on-call"

        [kpis.timeout_rate]
        green = 0.01
        yellow = 0.03
        min_requests = 200
        owner = "inference-platform"

        # Refusals and escalations to a human: quality signals owned by the model team.
        [kpis.refusal_rate]
        green = 0.02
        yellow = 0.05
        min_requests = 200
        owner = "model-quality"
        action_yellow = "investigate: review refused prompts by route and prompt version"
        action_red = "roll back the prompt or model version that changed"

        [kpis.escalation_rate]
        green = 0.02
        yellow = 0.05
        min_requests = 200
        owner = "model-quality"

        [kpis.task_success_rate]
        direction = "lower_is_worse"
        green = 0.85
        yellow = 0.75
        min_requests = 200
        owner = "product"
        action_red = "roll back; the model no longer does the job"

        # Feedback is sparse: the sample is the requests that carry feedback.
        [kpis.positive_feedback_share]
        direction = "lower_is_worse"
        green = 0.7
        yellow = 0.5
        min_requests = 50
        owner = "product"

        [kpis.safety_incident_rate]
        green = 0.005
        yellow = 0.02
        min_requests = 200
        owner = "trust-and-safety"
        action_red = "escalate to trust & safety; consider disabling the route"

        # Zero critical safety incidents: a single one is red, whatever the sample.
        [kpis.critical_incidents]
        green = 0
        yellow = 0
        min_requests = 1
        owner = "trust-and-safety"
        action_red = "page trust & safety; review the incident before anything ships"

        # Cost per request and per successful task (prices from tallyd's price table).
        [kpis.cost_per_request_mean]
        green = 0.01
        yellow = 0.05
        min_requests = 200
        owner = "finance"
        action_yellow = "investigate: token growth, cache hit rate, routing to larger models"
        action_red = "cap output tokens or route to a cheaper model"

        [kpis.cost_per_successful_task]
        green = 0.02
        yellow = 0.1
        min_requests = 200
        owner = "finance"
        alert = "none"

        # ── Error-budget SLOs: multi-window, multi-burn-rate alerts ───────────────────
        # burn rate = bad share / (1 − objective). A rule fires when the burn rate exceeds
        # burn_rate over both its long and its short span, in Tally windows (these are for
        # 10 s windows: 360 = 1 h, 30 = 5 min, 2160 = 6 h, 180 = 30 min, 25920 = 3 d).
        [slos.availability]
        objective = 0.995
        bad_statuses = ["error", "timeout"]
        scopes = ["fleet", "model"]

        [slos.availability.page_fast]
        burn_rate = 14.4
        long_windows = 360
        short_windows = 30
        severity = "page"

        [slos.availability.page_slow]
        burn_rate = 6
        long_windows = 2160
        short_windows = 180
        severity = "page"

        [slos.availability.ticket]
        burn_rate = 1
        long_windows = 25920
        short_windows = 2160
        severity = "ticket"

        # ── Drift against a baseline, from the digests and category histograms ────────
        [drift]
        # first: the first baseline_windows windows, rolled up and frozen; previous: the
        # span before the current one; pinned: a snapshot file, tallyd's baseline_snapshot
        # setting (a known-good time range rolled up by
        # `tally-index --write-baseline FILE --from µs --to µs`).
        baseline = "first"
        baseline_windows = 30
        span = "window"              # compared with the baseline: window or a span name
        scopes = ["fleet", "model", "model_version"]
        min_requests = 500           # both sides
        bins = 10                    # PSI bins at the baseline's quantiles, frozen with it
        psi_yellow = 0.1             # the field's usual PSI levels
        psi_red = 0.25
        ks_yellow = 0.1
        ks_red = 0.2
        wasserstein_yellow = 0.1     # Wasserstein-1 / baseline standard deviation
        wasserstein_red = 0.25
        js_yellow = 0.1              # Jensen–Shannon distance (base 2) of the category mix
        js_red = 0.2
        outcome_alpha = 0.001        # refusal, task success, feedback vs the baseline
        outcome_min_effect = 0.02    # smallest absolute change that counts (red at 3×)

        # ── Fairness: best-to-worst gaps between cohorts of each key ──────────────────
        [fairness]
        keys = []                    # empty: every cohort key of [index]
        min_requests = 200
        alpha = 0.001                # a gap is red or yellow only when significant

        [fairness.gaps.error_rate]
        yellow = 0.02
        red = 0.05

        [fairness.gaps.refusal_rate]
        yellow = 0.02
        red = 0.05

        [fairness.gaps.escalation_rate]
        yellow = 0.02
        red = 0.05

        [fairness.gaps.safety_incident_rate]
        yellow = 0.005
        red = 0.02

        [fairness.gaps.task_success_rate]
        yellow = 0.05
        red = 0.1

        [fairness.gaps.positive_feedback_share]
        yellow = 0.1
        red = 0.2

        [fairness.gaps.latency_p95]
        measure = "ratio"            # worst / best
        yellow = 1.5
        red = 2.0

        [fairness.gaps.cost_per_request_mean]
        measure = "ratio"
        yellow = 1.5
        red = 2.0

        # ── Canary vs stable: same model, same window ─────────────────────────────────
        [canary]
        kpis = ["latency_p95", "ttft_p95", "error_rate", "timeout_rate", "refusal_rate", "safety_incident_rate"]
        min_requests = 100           # per ring, before anything but hold
        alpha = 0.001                # one-sided, shared by the KPIs (Bonferroni: 0.001 / 6 each)
        rate_tolerance = 0.01        # absolute increase of a rate tolerated
        relative_tolerance = 0.2     # relative increase of a latency quantile tolerated
        """#
}
