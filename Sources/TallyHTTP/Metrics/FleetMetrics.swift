import TallyCore
import TallyIndex
import TallySketches
import TallyWire

/// The fleet's families: KPI counters and classic histograms per exposed label set,
/// cumulative since tallyd started (``WebStore/Totals``), and the index's gauges.
///
/// Histograms rather than summaries: Prometheus 2.42 (Debian 12) aggregates classic
/// histograms across label sets and collectors (`sum by (le)`) and over time (`rate`),
/// which summaries cannot, and reads native histograms only behind a feature flag.
enum FleetMetrics {
    /// Histogram bucket bounds (s), shared by latency, TTFT and queue time: dense between
    /// 0.5 s and 5 s, where the default policy's latency thresholds lie (a classic
    /// histogram's quantile is only known within its bucket).
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30, 60]

    static func families(_ view: WebStore.View, labels: MetricLabels, maxLabelSets: Int) -> [MetricFamily] {
        var requests = MetricFamily(name: "tally_requests", type: .counter, help: "Requests served by the fleet, by model, version and ring.")
        var errors = MetricFamily(name: "tally_request_errors", type: .counter, help: "Requests that did not end ok, by status.")
        var refusals = MetricFamily(name: "tally_refusals", type: .counter, help: "Requests the model refused.")
        var escalations = MetricFamily(name: "tally_escalations", type: .counter, help: "Requests escalated to a human or another system.")
        var tokens = MetricFamily(name: "tally_tokens", type: .counter, help: "Tokens processed, by kind (input, output, cached_input).")
        var cost = MetricFamily(name: "tally_cost_usd", type: .counter, help: "Cost of priced requests in US dollars.")
        var safety = MetricFamily(name: "tally_safety_incidents", type: .counter, help: "Requests with a safety incident, by severity.")
        for (key, t) in view.totals.sorted(by: { $0.key < $1.key }) {
            let l = Array(zip(labels.names, key.values))
            requests.add(l, Double(t.requests))
            for status in RequestStatus.allCases where status != .ok {
                errors.add(l + [("status", status.name)], Double(t.statuses[Int(status.rawValue)]))
            }
            refusals.add(l, Double(t.refusals))
            escalations.add(l, Double(t.escalations))
            tokens.add(l + [("kind", "input")], t.inputTokens.rounded())
            tokens.add(l + [("kind", "output")], t.outputTokens.rounded())
            tokens.add(l + [("kind", "cached_input")], Double(t.cachedInputTokens))
            cost.add(l, t.costUSD)
            for severity in SafetySeverity.allCases where severity != SafetySeverity.none {
                safety.add(l + [("severity", severity.name)], Double(t.safety[Int(severity.rawValue)]))
            }
        }
        var folded = MetricFamily(name: "tally_metrics_label_sets_folded", type: .counter,
                                  help: "Label sets folded into \"other\" (all values but the ring's) past http_max_label_sets.")
        folded.add([], Double(view.foldedLabelSets))
        var families = [requests, errors, refusals, escalations, tokens, cost, safety]
        families += histograms(view, labels: labels)
        var series = MetricFamily(name: "tally_series_active", type: .gauge, help: "Series in the last window's snapshot.")
        series.add([], Double(view.snapshot?.series.count ?? 0))
        families += [series, folded]
        families += indexGauges(view, maxLabelSets: maxLabelSets)
        return families
    }

    /// Latency, TTFT and queue time per label set, cumulative (``CumulativeHistogram``).
    static func histograms(_ view: WebStore.View, labels: MetricLabels) -> [MetricFamily] {
        let specs: [(name: String, help: String, histogram: KeyPath<WebStore.Totals, CumulativeHistogram>)] = [
            ("tally_request_latency_seconds", "Total request latency (bucket counts from each window's t-digests).", \.latency),
            ("tally_time_to_first_token_seconds", "Time to first token (bucket counts from each window's t-digests).", \.timeToFirstToken),
            ("tally_queue_time_seconds", "Queue time (bucket counts from each window's t-digests).", \.queueTime),
        ]
        let sorted = view.totals.sorted { $0.key < $1.key }
        return specs.map { spec in
            var family = MetricFamily(name: spec.name, type: .histogram, help: spec.help, unit: "seconds")
            for (key, totals) in sorted { family.addHistogram(Array(zip(labels.names, key.values)), totals[keyPath: spec.histogram]) }
            return family
        }
    }

    /// 0 green, 1 yellow, 2 red, -1 insufficient data; nil for KPIs without a threshold.
    static func gaugeValue(_ light: Light) -> Double? {
        switch light {
        case .green: 0
        case .yellow: 1
        case .red: 2
        case .insufficientData: -1
        case Light.none: nil
        }
    }

    static func indexGauges(_ view: WebStore.View, maxLabelSets: Int) -> [MetricFamily] {
        var lights = MetricFamily(name: "tally_index_light", type: .gauge,
                                  help: "Light of each judged KPI per scope in the last window: 0 green, 1 yellow, 2 red, -1 insufficient data.")
        var firing = MetricFamily(name: "tally_alerts_firing", type: .gauge, help: "Alerts firing after the last window.")
        var open = MetricFamily(name: "tally_alerts_open", type: .gauge, help: "Alerts pending or firing after the last window.")
        var overall = MetricFamily(name: "tally_index_overall_light", type: .gauge,
                                   help: "The fleet's overall light in the last window: 0 green, 1 yellow, 2 red, -1 insufficient data.")
        guard let window = view.windows.last else { return [] }
        // Past the limit, scopes fold into scope="other" with the worst light of each KPI.
        var other: [KPI: Light] = [:]
        for (i, scope) in window.scopes.enumerated() {
            for report in scope.kpis {
                guard gaugeValue(report.light) != nil else { continue }
                if i < maxLabelSets {
                    lights.add([("scope", scope.scope), ("kpi", report.kpi.rawValue)], gaugeValue(report.light)!)
                } else {
                    other[report.kpi] = max(other[report.kpi] ?? report.light, report.light)
                }
            }
        }
        for (kpi, light) in other.sorted(by: { $0.key < $1.key }) {
            lights.add([("scope", "other"), ("kpi", kpi.rawValue)], gaugeValue(light)!)
        }
        firing.add([], Double(window.executive.firingAlerts))
        open.add([], Double(window.executive.openAlerts))
        overall.add([], gaugeValue(window.executive.overall) ?? -1)
        return [lights, overall, firing, open]
    }
}
