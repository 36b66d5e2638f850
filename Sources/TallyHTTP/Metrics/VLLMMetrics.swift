import TallyCore
import TallySketches
import TallyWire

/// The subset of vLLM's Prometheus families that Tally can produce from frames, served at
/// `/metrics/vllm` (opt-in: `http_vllm_metrics = true`), so that dashboards built for vLLM
/// keep working when pointed at Tally. Names, label (`model_name`) and bucket bounds are
/// vLLM's (v1 engine, `vllm/v1/metrics/loggers.py`); the values are cumulative since tallyd
/// started, like vLLM's own.
///
/// How exact: `_count`, `_sum` and `vllm:request_success_total` are exact; bucket counts
/// are each window's t-digest rank at the bound, exact while a series holds fewer than
/// δ/2 = 50 values in a window and within the digest's rank error (≤ 0.5 % of the series'
/// count, README "Accuracy") otherwise. `finished_reason`: frames carry a status, not
/// vLLM's finish reason, so `ok` counts as `stop` (a length-capped completion too) and
/// `cancelled` as `abort`; failed requests (error, timeout, rate limited, other) are not
/// successes and are left out of `vllm:request_success_total` but not of the histograms.
enum VLLMMetrics {
    /// vLLM's request-latency bounds (s): e2e latency and queue time.
    static let requestLatencyBuckets: [Double] = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
                                                  60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
    /// vLLM's time-to-first-token bounds (s).
    static let timeToFirstTokenBuckets: [Double] = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
                                                    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
    /// vLLM's time-per-output-token bounds (s).
    static let timePerOutputTokenBuckets: [Double] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
                                                      2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]

    /// vLLM's token-count bounds: 1, 2, 5, 10, 20, 50, … up to `maximum` (its `max_model_len`).
    static func tokenBuckets(maximum: Int) -> [Double] {
        var bounds: [Double] = [], magnitude = 1
        while true {
            for mantissa in [1, 2, 5] {
                guard mantissa * magnitude <= maximum else { return bounds }
                bounds.append(Double(mantissa * magnitude))
            }
            magnitude *= 10
        }
    }

    /// One model's accumulated families.
    struct Totals: Sendable {
        var stop: UInt64 = 0
        var abort: UInt64 = 0
        var e2eLatency = CumulativeHistogram(bounds: requestLatencyBuckets)
        var queueTime = CumulativeHistogram(bounds: requestLatencyBuckets)
        var timeToFirstToken = CumulativeHistogram(bounds: timeToFirstTokenBuckets)
        var timePerOutputToken = CumulativeHistogram(bounds: timePerOutputTokenBuckets)
        var promptTokens: CumulativeHistogram
        var generationTokens: CumulativeHistogram

        init(maxModelLength: Int) {
            let tokens = VLLMMetrics.tokenBuckets(maximum: maxModelLength)
            promptTokens = CumulativeHistogram(bounds: tokens)
            generationTokens = CumulativeHistogram(bounds: tokens)
        }

        mutating func add(_ a: SeriesAggregate) {
            stop &+= a.statusCount(Int(RequestStatus.ok.rawValue))
            abort &+= a.statusCount(Int(RequestStatus.cancelled.rawValue))
            e2eLatency.add(a.totalLatency, unitsPer: 1e6)
            queueTime.add(a.queueTime, unitsPer: 1e6)
            timeToFirstToken.add(a.timeToFirstToken, unitsPer: 1e6)
            timePerOutputToken.add(a.timePerOutputToken, unitsPer: 1e6)
            promptTokens.add(a.inputTokens, unitsPer: 1)
            generationTokens.add(a.outputTokens, unitsPer: 1)
        }
    }

    static func families(_ byModel: [String: Totals]) -> [MetricFamily] {
        var success = MetricFamily(name: "vllm:request_success", type: .counter, help: "Count of successfully processed requests.")
        var histograms: [(MetricFamily, KeyPath<Totals, CumulativeHistogram>)] = [
            (MetricFamily(name: "vllm:e2e_request_latency_seconds", type: .histogram,
                          help: "Histogram of e2e request latency in seconds.", unit: "seconds"), \.e2eLatency),
            (MetricFamily(name: "vllm:request_queue_time_seconds", type: .histogram,
                          help: "Histogram of time spent in WAITING phase for request.", unit: "seconds"), \.queueTime),
            (MetricFamily(name: "vllm:time_to_first_token_seconds", type: .histogram,
                          help: "Histogram of time to first token in seconds.", unit: "seconds"), \.timeToFirstToken),
            (MetricFamily(name: "vllm:time_per_output_token_seconds", type: .histogram,
                          help: "Histogram of time per output token in seconds.", unit: "seconds"), \.timePerOutputToken),
            (MetricFamily(name: "vllm:request_prompt_tokens", type: .histogram,
                          help: "Number of prefill tokens processed."), \.promptTokens),
            (MetricFamily(name: "vllm:request_generation_tokens", type: .histogram,
                          help: "Number of generation tokens processed."), \.generationTokens),
        ]
        for (model, totals) in byModel.sorted(by: { $0.key < $1.key }) {
            let labels = [("model_name", model)]
            success.add(labels + [("finished_reason", "stop")], Double(totals.stop))
            success.add(labels + [("finished_reason", "abort")], Double(totals.abort))
            for i in histograms.indices { histograms[i].0.addHistogram(labels, totals[keyPath: histograms[i].1]) }
        }
        return [success] + histograms.map(\.0)
    }
}

extension MetricFamily {
    /// The `_bucket` (with `le` as Swift prints a Double: `1.0`, `0.005`, as Prometheus's
    /// client libraries do), `_sum` and `_count` samples of one label set.
    mutating func addHistogram(_ labels: [(String, String)], _ histogram: CumulativeHistogram) {
        for (bound, value) in zip(histogram.bounds, histogram.cumulative) {
            samples.append(Sample(suffix: "_bucket", labels: labels + [("le", "\(bound)")], value: value))
        }
        samples.append(Sample(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: histogram.count))
        samples.append(Sample(suffix: "_sum", labels: labels, value: histogram.sum))
        samples.append(Sample(suffix: "_count", labels: labels, value: histogram.count))
    }
}
