/// The attribute names the mapping reads: OpenTelemetry's GenAI semantic conventions
/// (`gen_ai.*`, semconv 1.3x) and the older names vLLM's own tracing still sends.
public enum GenAIAttributes {
    public static let prefix = "gen_ai."
    public static let operationName = "gen_ai.operation.name"
    public static let providerName = "gen_ai.provider.name"
    /// Older name of ``providerName`` (vLLM, semconv before 1.37).
    public static let system = "gen_ai.system"
    public static let requestModel = "gen_ai.request.model"
    public static let responseModel = "gen_ai.response.model"
    public static let inputTokens = "gen_ai.usage.input_tokens"
    public static let outputTokens = "gen_ai.usage.output_tokens"
    public static let cacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens"
    /// Prompt tokens written to the provider's prompt cache (part of the input tokens).
    public static let cacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens"
    /// Output tokens spent on reasoning (part of the output tokens).
    public static let reasoningOutputTokens = "gen_ai.usage.reasoning.output_tokens"
    /// Older names of the token counts (vLLM).
    public static let promptTokens = "gen_ai.usage.prompt_tokens"
    public static let completionTokens = "gen_ai.usage.completion_tokens"
    /// Seconds from request start to the first streamed chunk.
    public static let timeToFirstChunk = "gen_ai.response.time_to_first_chunk"
    /// vLLM's latencies, in seconds.
    public static let timeInQueue = "gen_ai.latency.time_in_queue"
    public static let timeToFirstToken = "gen_ai.latency.time_to_first_token"
    public static let endToEnd = "gen_ai.latency.e2e"
    public static let finishReasons = "gen_ai.response.finish_reasons"
    public static let conversationID = "gen_ai.conversation.id"
    public static let errorType = "error.type"
}
