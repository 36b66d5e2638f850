#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TallyWire

/// Generates realistic trace frames for a synthetic inference fleet: several models
/// and versions, a canary ring, Zipf-distributed tenants and users, lognormal
/// latencies, token counts, an error/timeout mix and occasional safety incidents and
/// feedback. Deterministic for a given seed. Strings are drawn from fixed pools, so
/// frames reuse the same `String` values, as a real server does.
public struct SyntheticFleet: Sendable {
    public struct Model: Sendable {
        public var name: String
        public var versions: [String]
        /// Median total latency, in microseconds.
        public var medianLatencyMicros: Double

        public init(name: String, versions: [String], medianLatencyMicros: Double) {
            self.name = name
            self.versions = versions
            self.medianLatencyMicros = medianLatencyMicros
        }
    }

    public var models: [Model] = [
        Model(name: "llama-3.1-70b-instruct", versions: ["2024-07-23", "2024-10-02"], medianLatencyMicros: 900_000),
        Model(name: "llama-3.1-8b-instruct", versions: ["2024-07-23"], medianLatencyMicros: 250_000),
        Model(name: "mistral-large", versions: ["2407", "2411"], medianLatencyMicros: 1_200_000),
        Model(name: "qwen2.5-coder-32b", versions: ["v1"], medianLatencyMicros: 700_000),
    ]
    public var promptVersions = ["p-2024.10", "p-2024.11", "p-2024.12"]
    public var routes = ["chat", "summarize", "code", "extract", "agent"]
    /// Cohort tag pools besides the tenant; an empty pool leaves its tag out.
    public var regions = ["us-east", "us-west", "eu-central", "ap-south"]
    public var languages = ["en", "de", "fr", "es", "ja", "pt"]
    public var tiers = ["free", "pro", "enterprise"]
    public var errorClasses = ["oom", "upstream_5xx", "invalid_request", "content_filter"]
    /// Tenants, drawn with a Zipf law.
    public let tenants: [String]
    public let tenantLaw: ZipfDistribution
    /// Users, drawn with a Zipf law.
    public let userLaw: ZipfDistribution
    /// Share of requests served by the canary ring.
    public var canaryShare = 0.05
    public var errorRate = 0.02
    public var timeoutRate = 0.005
    public var safetyRate = 0.002
    public var feedbackRate = 0.03
    /// σ of the lognormal total latency around each model's median.
    public var latencySigma = 0.6
    /// Input and output tokens: lognormal medians and σ.
    public var inputTokensMedian = 800.0
    public var inputTokensSigma = 1.0
    public var outputTokensMedian = 300.0
    public var outputTokensSigma = 0.8
    /// Share of requests whose prompt is half served from the prompt cache.
    public var cachedInputShare = 0.3

    /// - Parameters:
    ///   - tenants, users: population sizes (≥ 1), drawn with Zipf laws of the given exponents.
    public init(tenants: Int = 200, users: Int = 100_000, tenantExponent: Double = 1.1, userExponent: Double = 0.9) {
        self.tenants = (0..<tenants).map { "tenant-\($0)" }
        tenantLaw = ZipfDistribution(count: tenants, exponent: tenantExponent)
        userLaw = ZipfDistribution(count: users, exponent: userExponent)
    }

    /// One frame stamped `eventTimeMicros`.
    public func frame(eventTimeMicros: UInt64, _ rng: inout SplitMix64) -> TraceFrame {
        let model = models[Int(rng.next() % UInt64(models.count))]
        let latencyLaw = Distribution.lognormal(mu: log(model.medianLatencyMicros), sigma: latencySigma)
        let total = UInt32(min(latencyLaw.sample(&rng), 600_000_000))
        let queue = UInt32(Double(total) * 0.1 * rng.unit())
        let ttft = queue + UInt32(Double(total - queue) * (0.05 + 0.25 * rng.unit()))
        let input = UInt32(min(Distribution.lognormal(mu: log(inputTokensMedian), sigma: inputTokensSigma).sample(&rng),
                               4_000_000)) + 1
        let output = UInt32(min(Distribution.lognormal(mu: log(outputTokensMedian), sigma: outputTokensSigma).sample(&rng),
                                4_000_000)) + 1
        let roll = rng.unit()
        let status: RequestStatus = roll < errorRate ? .error : roll < errorRate + timeoutRate ? .timeout : .ok
        let user = userLaw.sample(&rng)
        var frame = TraceFrame(
            eventTimeMicros: eventTimeMicros,
            model: model.name,
            modelVersion: model.versions[Int(rng.next() % UInt64(model.versions.count))],
            promptVersion: promptVersions[Int(rng.next() % UInt64(promptVersions.count))],
            route: routes[Int(rng.next() % UInt64(routes.count))],
            ring: rng.unit() < canaryShare ? .canary : .stable,
            tags: cohortTags(&rng),
            queueTimeMicros: queue,
            timeToFirstTokenMicros: status == .ok ? ttft : nil,
            totalLatencyMicros: total,
            inputTokens: input,
            outputTokens: status == .ok ? output : 0,
            cachedInputTokens: rng.unit() < cachedInputShare ? input / 2 : 0,
            status: status,
            errorClass: status == .error ? errorClasses[Int(rng.next() % UInt64(errorClasses.count))] : nil,
            userHash: UInt64(user) &* 0x9E37_79B9_7F4A_7C15 | 1,
            sessionHash: (UInt64(user) << 20 | rng.next() % 8) &* 0xC2B2_AE3D_27D4_EB4F | 1,
            categoryID: UInt16(rng.next() % 32)
        )
        let outcomeRoll = rng.unit()
        frame.outcome = OutcomeBits(
            refusal: outcomeRoll < 0.01, escalation: outcomeRoll > 0.995, fallback: status != .ok && outcomeRoll < 0.5,
            task: status == .ok ? (rng.unit() < 0.9 ? .success : .failure) : .failure,
            feedback: rng.unit() < feedbackRate ? (rng.unit() < 0.8 ? .up : .down) : .none)
        if rng.unit() < safetyRate {
            frame.safetyKinds = SafetyKinds(rawValue: 1 << UInt16(rng.next() % 10))
            frame.safetySeverity = SafetySeverity(rawValue: UInt8(1 + rng.next() % 4))!
        }
        return frame
    }

    /// The tenant tag, then one tag from each non-empty pool (drawn in this order).
    private func cohortTags(_ rng: inout SplitMix64) -> [CohortTag] {
        var tags = [CohortTag("tenant", tenants[tenantLaw.sample(&rng)])]
        tags.reserveCapacity(4)
        for (key, pool) in [("region", regions), ("lang", languages), ("tier", tiers)] where !pool.isEmpty {
            tags.append(CohortTag(key, pool[Int(rng.next() % UInt64(pool.count))]))
        }
        return tags
    }
}
