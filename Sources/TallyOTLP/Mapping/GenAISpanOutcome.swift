import TallyWire

/// What became of one span: a frame, skipped (not a GenAI span), or rejected.
public enum GenAISpanOutcome: Sendable, Equatable {
    case frame(TraceFrame)
    case skipped(GenAISkipReason)
    /// The reason (for the counter) and a message naming the attribute (for `partial_success`).
    case rejected(GenAIRejectReason, String)
}

/// Why a span was skipped (counted as `otlp.skipped.<reason>`, not as an error).
public enum GenAISkipReason: String, Sendable, CaseIterable {
    /// No attribute of the span starts with `gen_ai.` (an HTTP or database span, …).
    case notGenAI = "not_gen_ai"
}

/// Why a GenAI span could not become a valid frame (counted as `otlp.rejected.<reason>`,
/// and in the response's `partial_success.rejected_spans`).
public enum GenAIRejectReason: String, Sendable, CaseIterable {
    /// Neither `gen_ai.response.model` nor `gen_ai.request.model`.
    case noModel = "no_model"
    /// Start time 0, or end before start.
    case badTime = "bad_time"
    /// A latency negative, not finite, or over 2^32 − 1 µs (about 71 minutes).
    case latencyOutOfRange = "latency_out_of_range"
    /// A token count negative or over 2^32 − 1.
    case tokensOutOfRange = "tokens_out_of_range"
    /// Cached input tokens above input tokens, queue time or time to first token above
    /// total latency (FORMAT.md's `value_out_of_range`).
    case inconsistent
    /// An attribute with a value of the wrong type (a token count as a string, …).
    case badType = "bad_type"
    /// A string dimension or tag value empty or longer than 255 UTF-8 bytes.
    case badString = "bad_string"
    /// A ring attribute other than `stable`, `canary`, `shadow`.
    case badRing = "bad_ring"
    /// The wire encoder refused the frame (a rule the mapping does not check; should not happen).
    case encoder
}
