import TallyCore
import TallyIndex
import TallySketches
import TallyWire

/// The fleet's families: KPI counters per label set accumulated across windows,
/// classic histograms of the last window (from the merged t-digests), index gauges.
enum FleetMetrics {
    /// Histogram bucket bounds (s), shared by latency, TTFT and queue time.
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    static func families(_ view: WebStore.View, maxLabelSets: Int) -> [MetricFamily] {
        var requests = MetricFamily(name: "tally_requests", type: .counter, help: "Requests served by the fleet, by model, version and ring.")
        var errors = MetricFamily(name: "tally_request_errors", type: .counter, help: "Requests that did not end ok, by status.")
        var refusals = MetricFamily(name: "tally_refusals", type: .counter, help: "Requests the model refused.")
        var escalations = MetricFamily(name: "tally_escalations", type: .counter, help: "Requests escalated to a human or another system.")
        var tokens = MetricFamily(name: "tally_tokens", type: .counter, help: "Tokens processed, by kind (input, output, cached_input).")
        var cost = MetricFamily(name: "tally_cost_usd", type: .counter, help: "Cost of priced requests in US dollars.")
        var safety = MetricFamily(name: "tally_safety_incidents", type: .counter, help: "Requests with a safety incident, by severity.")
        for (key, t) in view.totals.sorted(by: { $0.key < $1.key }) {
            let l = key.pairs
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
                                  help: "Label sets (model, model_version, ring) folded into model=\"other\" past the per-family limit.")
        folded.add([], Double(view.foldedLabelSets))
        var families = [requests, errors, refusals, escalations, tokens, cost, safety]
        families += histograms(view)
        var series = MetricFamily(name: "tally_series_active", type: .gauge, help: "Series in the last window's snapshot.")
        series.add([], Double(view.snapshot?.series.count ?? 0))
        families += [series, folded]
        families += indexGauges(view, maxLabelSets: maxLabelSets)
        return families
    }

    /// Latency, TTFT and queue time of the last window per label set: bucket counts are
    /// the merged digest's cdf at each bound × its count (monotone by construction).
    static func histograms(_ view: WebStore.View) -> [MetricFamily] {
        let specs: [(name: String, help: String, digest: (SeriesAggregate) -> TDigest)] = [
            ("tally_request_latency_seconds", "Total request latency in the last window (t-digest cdf at fixed buckets).", { $0.totalLatency }),
            ("tally_time_to_first_token_seconds", "Time to first token in the last window (t-digest cdf at fixed buckets).", { $0.timeToFirstToken }),
            ("tally_queue_time_seconds", "Queue time in the last window (t-digest cdf at fixed buckets).", { $0.queueTime }),
        ]
        guard let snapshot = view.snapshot else { return [] }
        var grouped: [WebStore.LabelSet: [SeriesAggregate]] = [:]
        for series in snapshot.series {
            let key = WebStore.LabelSet(model: series.labels.model, version: series.labels.modelVersion, ring: series.labels.ring.name)
            let exported = view.admitted.contains(key) ? key : WebStore.LabelSet(model: "other", version: "other", ring: key.ring)
            grouped[exported, default: []].append(series.aggregate)
        }
        var families: [MetricFamily] = []
        for spec in specs {
            var family = MetricFamily(name: spec.name, type: .histogram, help: spec.help, unit: "seconds")
            for (key, aggregates) in grouped.sorted(by: { $0.key < $1.key }) {
                guard let merged = try? TDigest.merged(aggregates.map(spec.digest)) else { continue }
                let count = Double(merged.count)
                var previous = 0.0
                for bound in buckets {
                    let cumulative = merged.isEmpty ? 0 : max(previous, min(count, (merged.cdf(bound * 1e6) * count).rounded()))
                    previous = cumulative
                    family.samples.append(.init(suffix: "_bucket", labels: key.pairs + [("le", "\(bound)")], value: cumulative))
                }
                family.samples.append(.init(suffix: "_bucket", labels: key.pairs + [("le", "+Inf")], value: count))
                family.samples.append(.init(suffix: "_sum", labels: key.pairs, value: merged.isEmpty ? 0 : merged.sum * 1e-6))
                family.samples.append(.init(suffix: "_count", labels: key.pairs, value: count))
            }
            families.append(family)
        }
        return families
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
