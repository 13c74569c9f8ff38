import Foundation

/// One line of the request log: who asked for what, where it went, what it cost, how it ended.
public struct RequestRecord: Sendable, Hashable, Codable {
    public var id: String
    public var createdAt: Date
    /// Name of the API key that made the request (`anonymous` without auth).
    public var caller: String
    /// The protocol the client spoke: `openai` or `anthropic`.
    public var clientProtocol: String
    /// `chat` or `embeddings`.
    public var endpoint: String
    public var model: String
    public var provider: String?
    public var upstreamModel: String?
    public var stream: Bool
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var usageEstimated: Bool
    public var costUSD: Double
    public var latencyMs: Double
    /// Time to first token, for streams.
    public var ttftMs: Double?
    /// HTTP status the client saw (for streams that failed mid-way: the status of the head, with `error` set).
    public var status: Int
    public var error: String?
    /// The routing decision and attempts.
    public var route: RouteTrace?
    /// `hit-exact`, `hit-semantic`, `miss` or `bypass`; nil when caching is off.
    public var cache: String?
    /// What a cache hit saved: the cost of the original call.
    public var savedUSD: Double = 0
    /// What grounding retrieved (collection, chunks, scores); nil when the request was not grounded.
    public var retrieval: RetrievalTrace?
    /// MCP tool calls made for this request (server-side tool loop, or a call through `/mcp`).
    public var toolCalls: JSONValue?

    public init(
        id: String, createdAt: Date, caller: String, clientProtocol: String, endpoint: String, model: String,
        provider: String? = nil, upstreamModel: String? = nil, stream: Bool = false, promptTokens: Int = 0,
        completionTokens: Int = 0, cachedTokens: Int = 0, usageEstimated: Bool = false, costUSD: Double = 0,
        latencyMs: Double = 0, ttftMs: Double? = nil, status: Int = 200, error: String? = nil, route: RouteTrace? = nil,
        cache: String? = nil, savedUSD: Double = 0, toolCalls: JSONValue? = nil
    ) {
        self.toolCalls = toolCalls
        self.cache = cache
        self.savedUSD = savedUSD
        self.id = id
        self.createdAt = createdAt
        self.caller = caller
        self.clientProtocol = clientProtocol
        self.endpoint = endpoint
        self.model = model
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.stream = stream
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.usageEstimated = usageEstimated
        self.costUSD = costUSD
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.status = status
        self.error = error
        self.route = route
    }

    enum CodingKeys: String, CodingKey {
        case id, caller, endpoint, model, provider, stream, status, error, route, cache
        case retrieval
        case toolCalls = "tool_calls"
        case savedUSD = "saved_usd"
        case createdAt = "created_at"
        case clientProtocol = "protocol"
        case upstreamModel = "upstream_model"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case cachedTokens = "cached_tokens"
        case usageEstimated = "usage_estimated"
        case costUSD = "cost_usd"
        case latencyMs = "latency_ms"
        case ttftMs = "ttft_ms"
    }
}
