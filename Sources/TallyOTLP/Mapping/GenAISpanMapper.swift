import TallyWire

/// Turns OTLP spans that carry GenAI attributes into ``TraceFrame``s (the table in
/// OTLP.md). A frame it returns passes every rule of FORMAT.md that ``BatchEncoder``
/// checks; a span that cannot is rejected with a reason, never clamped or guessed.
public struct GenAISpanMapper: Sendable {
    public let configuration: GenAIMappingConfiguration

    public init(configuration: GenAIMappingConfiguration = GenAIMappingConfiguration()) {
        self.configuration = configuration
    }

    /// Maps one span of a resource.
    public func map(_ span: OTLPSpan, resource: [OTLPAttribute]) -> GenAISpanOutcome {
        guard span.attributes.contains(where: { $0.key.hasPrefix(GenAIAttributes.prefix) }) else {
            return .skipped(.notGenAI)
        }
        do {
            return .frame(try frame(span, Lookup(span: span.attributes, resource: resource)))
        } catch {
            return .rejected(error.reason, error.message)
        }
    }

    struct Rejection: Error {
        var reason: GenAIRejectReason
        var message: String
        init(_ reason: GenAIRejectReason, _ message: String) {
            self.reason = reason
            self.message = message
        }
    }

    /// Attribute lookup: the span's attributes, then its resource's; the first match wins.
    struct Lookup {
        let span: [OTLPAttribute]
        let resource: [OTLPAttribute]

        subscript(_ name: String) -> OTLPValue? {
            guard !name.isEmpty else { return nil }
            if let hit = span.first(where: { $0.key == name }) { return hit.value }
            return resource.first(where: { $0.key == name })?.value
        }

        /// The first of `names` that is present.
        func first(_ names: String...) -> (name: String, value: OTLPValue)? {
            for name in names { if let value = self[name] { return (name, value) } }
            return nil
        }
    }

    func frame(_ span: OTLPSpan, _ attributes: Lookup) throws(Rejection) -> TraceFrame {
        guard let (modelName, modelValue) = attributes.first(GenAIAttributes.responseModel, GenAIAttributes.requestModel) else {
            throw Rejection(.noModel, "no \(GenAIAttributes.responseModel) or \(GenAIAttributes.requestModel)")
        }
        let model = try dimension(modelValue, modelName)
        guard span.startTimeUnixNano > 0, span.endTimeUnixNano >= span.startTimeUnixNano else {
            throw Rejection(.badTime, "start \(span.startTimeUnixNano) ns, end \(span.endTimeUnixNano) ns")
        }
        let spanMicros = (span.endTimeUnixNano - span.startTimeUnixNano) / 1_000
        var total: UInt32
        if let e2e = attributes[GenAIAttributes.endToEnd] {
            total = try micros(e2e, GenAIAttributes.endToEnd)
        } else {
            guard spanMicros <= UInt64(UInt32.max) else {
                throw Rejection(.latencyOutOfRange, "span lasts \(spanMicros) µs, over \(UInt32.max)")
            }
            total = UInt32(spanMicros)
        }
        var frame = TraceFrame(eventTimeMicros: span.startTimeUnixNano / 1_000, model: model, totalLatencyMicros: total)
        if let queue = attributes[GenAIAttributes.timeInQueue] {
            frame.queueTimeMicros = try micros(queue, GenAIAttributes.timeInQueue)
        }
        if let (name, value) = attributes.first(GenAIAttributes.timeToFirstChunk, GenAIAttributes.timeToFirstToken) {
            frame.timeToFirstTokenMicros = try micros(value, name)
        }
        if let (name, value) = attributes.first(GenAIAttributes.inputTokens, GenAIAttributes.promptTokens) {
            frame.inputTokens = try tokens(value, name)
        }
        if let (name, value) = attributes.first(GenAIAttributes.outputTokens, GenAIAttributes.completionTokens) {
            frame.outputTokens = try tokens(value, name)
        }
        if let cached = attributes[GenAIAttributes.cacheReadInputTokens] {
            frame.cachedInputTokens = try tokens(cached, GenAIAttributes.cacheReadInputTokens)
        }
        if let writes = attributes[GenAIAttributes.cacheCreationInputTokens] {
            frame.cacheCreationInputTokens = try tokens(writes, GenAIAttributes.cacheCreationInputTokens)
        }
        if let reasoning = attributes[GenAIAttributes.reasoningOutputTokens] {
            frame.reasoningOutputTokens = try tokens(reasoning, GenAIAttributes.reasoningOutputTokens)
        }
        guard UInt64(frame.cachedInputTokens) + UInt64(frame.cacheCreationInputTokens) <= UInt64(frame.inputTokens) else {
            throw Rejection(.inconsistent, "cache reads \(frame.cachedInputTokens) + cache writes \(frame.cacheCreationInputTokens) > input tokens \(frame.inputTokens)")
        }
        guard frame.reasoningOutputTokens <= frame.outputTokens else {
            throw Rejection(.inconsistent, "reasoning tokens \(frame.reasoningOutputTokens) > output tokens \(frame.outputTokens)")
        }
        guard frame.queueTimeMicros <= total else {
            throw Rejection(.inconsistent, "time in queue \(frame.queueTimeMicros) µs > total latency \(total) µs")
        }
        if let ttft = frame.timeToFirstTokenMicros, ttft > total {
            throw Rejection(.inconsistent, "time to first token \(ttft) µs > total latency \(total) µs")
        }

        let configuration = self.configuration
        frame.modelVersion = try optionalDimension(attributes[configuration.versionAttribute], configuration.versionAttribute)
        frame.route = try optionalDimension(attributes[configuration.routeAttribute], configuration.routeAttribute)
        frame.promptVersion = try optionalDimension(attributes[configuration.promptVersionAttribute],
                                                    configuration.promptVersionAttribute)
        if let ring = try optionalDimension(attributes[configuration.ringAttribute], configuration.ringAttribute) {
            guard let parsed = DeploymentRing.allCases.first(where: { $0.name == ring }) else {
                throw Rejection(.badRing, "\(configuration.ringAttribute) = \(ring.prefix(40)); expected stable, canary or shadow")
            }
            frame.ring = parsed
        }
        for source in configuration.tags {
            // gen_ai.system is the older name of gen_ai.provider.name.
            let value = source.attribute == GenAIAttributes.providerName
                ? attributes.first(GenAIAttributes.providerName, GenAIAttributes.system)?.value : attributes[source.attribute]
            if let text = try optionalDimension(value, source.attribute) { frame.tags.append(CohortTag(source.key, text)) }
        }

        let errorType = try optionalDimension(attributes[GenAIAttributes.errorType], GenAIAttributes.errorType)
        frame.errorClass = errorType
        if errorType != nil || span.statusCode == OTLPSpan.statusError {
            frame.status = GenAISpanMapper.status(errorType: errorType)
        }
        if case .array(let reasons)? = attributes[GenAIAttributes.finishReasons],
           reasons.contains(.string("content_filter")) {
            frame.outcome = OutcomeBits(refusal: true)
        }
        if let user = try optionalDimension(attributes[configuration.userAttribute], configuration.userAttribute, maxBytes: nil) {
            frame.userHash = IdentifierHash.hash(configuration.idSecret + user)
        }
        if let conversation = try optionalDimension(attributes[GenAIAttributes.conversationID], GenAIAttributes.conversationID,
                                                    maxBytes: nil) {
            frame.sessionHash = IdentifierHash.hash(configuration.idSecret + conversation)
        }
        return frame
    }

    /// A failed request's status from `error.type`: `timeout`, `rate_limited` (or `429`),
    /// `cancelled` have statuses of their own; anything else (or none, with span status
    /// error) is `error`.
    static func status(errorType: String?) -> RequestStatus {
        switch errorType?.lowercased() {
        case "timeout", "deadline_exceeded": .timeout
        case "rate_limited", "429", "too_many_requests": .rateLimited
        case "cancelled", "canceled": .cancelled
        default: .error
        }
    }

    // MARK: Values

    func dimension(_ value: OTLPValue, _ name: String) throws(Rejection) -> String {
        guard let text = try optionalDimension(value, name) else { throw Rejection(.badString, "\(name) is empty") }
        return text
    }

    /// Text of a string, number or boolean attribute; nil when absent. `maxBytes` nil: any length (ids, hashed).
    func optionalDimension(_ value: OTLPValue?, _ name: String, maxBytes: Int? = 255) throws(Rejection) -> String? {
        guard let value else { return nil }
        guard let text = value.text else { throw Rejection(.badType, "\(name) is not a string, number or boolean") }
        if let maxBytes {
            guard !text.isEmpty, text.utf8.count <= maxBytes else {
                throw Rejection(.badString, "\(name) has \(text.utf8.count) bytes; 1 … \(maxBytes) allowed")
            }
        }
        return text
    }

    /// A duration attribute in seconds (double or integer) as µs, rounded to nearest.
    func micros(_ value: OTLPValue, _ name: String) throws(Rejection) -> UInt32 {
        let seconds: Double
        switch value {
        case .double(let d): seconds = d
        case .int(let i): seconds = Double(i)
        default: throw Rejection(.badType, "\(name) is not a number of seconds")
        }
        let micros = (seconds * 1_000_000).rounded()
        guard micros.isFinite, micros >= 0, micros <= Double(UInt32.max) else {
            throw Rejection(.latencyOutOfRange, "\(name) = \(seconds) s, not in 0 … \(UInt32.max) µs")
        }
        return UInt32(micros)
    }

    /// A token count attribute (an integer, or a double with no fraction).
    func tokens(_ value: OTLPValue, _ name: String) throws(Rejection) -> UInt32 {
        let count: Int64
        switch value {
        case .int(let i): count = i
        case .double(let d) where d == d.rounded() && abs(d) < 1e18: count = Int64(d)
        default: throw Rejection(.badType, "\(name) is not an integer")
        }
        guard count >= 0, count <= Int64(UInt32.max) else {
            throw Rejection(.tokensOutOfRange, "\(name) = \(count), not in 0 … \(UInt32.max)")
        }
        return UInt32(count)
    }
}
