import Foundation

/// One line of the request log: who asked for what, where it went, what it cost, how it ended.
public struct RequestRecord: Sendable, Hashable {
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
    /// The spend ledger's dimensions: the key's id, its team, the request's `user`, the key's tags.
    public var keyID: String?
    public var team: String?
    /// The configured model that answered (`model` is what was asked for: a model, route or group).
    public var servedModel: String?
    public var user: String?
    public var tags: [String: String]?
    /// Set when a soft budget was passed (the request was allowed and flagged).
    public var budgetFlag: String?
    /// What the guardrails saw and did; nil when no policy applied.
    public var guardrail: GuardTrace?
    /// The client's `x-switchyard-episode-id`: requests it ties together (a conversation, an agent run).
    public var episodeID: String?
    /// The last user turn as it went upstream (after the input guard), when `request_log.store_prompts`
    /// is on; at most 8 KB, ending in `PromptCapture.cutMarker` when cut.
    public var prompt: String?
    /// `EXPERIMENT/VARIANT` when the request was part of an experiment.
    public var variant: String?
    /// Feedback on the request and on its episode, when read through the API (never stored on the row).
    public var feedback: [Feedback]?

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

}

/// JSON form of a record (the request-log API, `logs --json`, `explain --json`): `created_at` is Unix
/// time in seconds (with milliseconds), whatever the encoder's date strategy — Foundation's default
/// would count from 2001.
extension RequestRecord: Codable {
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
        case keyID = "key_id"
        case servedModel = "served_model"
        case team, user, tags
        case budgetFlag = "budget_flag"
        case guardrail
        case episodeID = "episode_id"
        case prompt, variant, feedback
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id),
            createdAt: Date(timeIntervalSince1970: try c.decode(Double.self, forKey: .createdAt)),
            caller: try c.decode(String.self, forKey: .caller), clientProtocol: try c.decode(String.self, forKey: .clientProtocol),
            endpoint: try c.decode(String.self, forKey: .endpoint), model: try c.decode(String.self, forKey: .model),
            provider: try c.decodeIfPresent(String.self, forKey: .provider),
            upstreamModel: try c.decodeIfPresent(String.self, forKey: .upstreamModel),
            stream: try c.decodeIfPresent(Bool.self, forKey: .stream) ?? false,
            promptTokens: try c.decodeIfPresent(Int.self, forKey: .promptTokens) ?? 0,
            completionTokens: try c.decodeIfPresent(Int.self, forKey: .completionTokens) ?? 0,
            cachedTokens: try c.decodeIfPresent(Int.self, forKey: .cachedTokens) ?? 0,
            usageEstimated: try c.decodeIfPresent(Bool.self, forKey: .usageEstimated) ?? false,
            costUSD: try c.decodeIfPresent(Double.self, forKey: .costUSD) ?? 0,
            latencyMs: try c.decodeIfPresent(Double.self, forKey: .latencyMs) ?? 0,
            ttftMs: try c.decodeIfPresent(Double.self, forKey: .ttftMs), status: try c.decodeIfPresent(Int.self, forKey: .status) ?? 200,
            error: try c.decodeIfPresent(String.self, forKey: .error), route: try c.decodeIfPresent(RouteTrace.self, forKey: .route))
        cache = try c.decodeIfPresent(String.self, forKey: .cache)
        savedUSD = try c.decodeIfPresent(Double.self, forKey: .savedUSD) ?? 0
        retrieval = try c.decodeIfPresent(RetrievalTrace.self, forKey: .retrieval)
        toolCalls = try c.decodeIfPresent(JSONValue.self, forKey: .toolCalls)
        keyID = try c.decodeIfPresent(String.self, forKey: .keyID)
        servedModel = try c.decodeIfPresent(String.self, forKey: .servedModel)
        team = try c.decodeIfPresent(String.self, forKey: .team)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        tags = try c.decodeIfPresent([String: String].self, forKey: .tags)
        budgetFlag = try c.decodeIfPresent(String.self, forKey: .budgetFlag)
        guardrail = try c.decodeIfPresent(GuardTrace.self, forKey: .guardrail)
        episodeID = try c.decodeIfPresent(String.self, forKey: .episodeID)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        variant = try c.decodeIfPresent(String.self, forKey: .variant)
        feedback = try c.decodeIfPresent([Feedback].self, forKey: .feedback)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode((createdAt.timeIntervalSince1970 * 1000).rounded() / 1000, forKey: .createdAt)
        try c.encode(caller, forKey: .caller)
        try c.encode(clientProtocol, forKey: .clientProtocol)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(model, forKey: .model)
        try c.encode(provider, forKey: .provider)
        try c.encode(upstreamModel, forKey: .upstreamModel)
        try c.encode(stream, forKey: .stream)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(cachedTokens, forKey: .cachedTokens)
        try c.encode(usageEstimated, forKey: .usageEstimated)
        try c.encode(costUSD, forKey: .costUSD)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(ttftMs, forKey: .ttftMs)
        try c.encode(status, forKey: .status)
        try c.encode(error, forKey: .error)
        try c.encodeIfPresent(route, forKey: .route)
        try c.encodeIfPresent(cache, forKey: .cache)
        try c.encode(savedUSD, forKey: .savedUSD)
        try c.encodeIfPresent(retrieval, forKey: .retrieval)
        try c.encodeIfPresent(toolCalls, forKey: .toolCalls)
        try c.encodeIfPresent(servedModel, forKey: .servedModel)
        try c.encodeIfPresent(keyID, forKey: .keyID)
        try c.encodeIfPresent(team, forKey: .team)
        try c.encodeIfPresent(user, forKey: .user)
        if let tags, !tags.isEmpty { try c.encode(tags, forKey: .tags) }
        try c.encodeIfPresent(budgetFlag, forKey: .budgetFlag)
        try c.encodeIfPresent(guardrail, forKey: .guardrail)
        try c.encodeIfPresent(episodeID, forKey: .episodeID)
        try c.encodeIfPresent(prompt, forKey: .prompt)
        try c.encodeIfPresent(variant, forKey: .variant)
        try c.encodeIfPresent(feedback, forKey: .feedback)
    }
}

/// The prompt text the request log keeps when `request_log.store_prompts` is on.
public enum PromptCapture {
    /// At most this many UTF-8 bytes of the turn are kept.
    public static let maximumBytes = 8192
    /// Ends a prompt that was cut.
    public static let cutMarker = " [cut by Switchyard]"

    /// The last user turn's text, cut at a character boundary to fit `maximumBytes` with the marker.
    public static func capture(_ messages: [ChatMessage]) -> String? {
        guard let text = messages.last(where: { $0.role == .user })?.text, !text.isEmpty else { return nil }
        return cut(text)
    }

    public static func cut(_ text: String) -> String {
        guard text.utf8.count > maximumBytes else { return text }
        let budget = maximumBytes - cutMarker.utf8.count
        var kept = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            if bytes + size > budget { break }
            kept.append(character)
            bytes += size
        }
        return kept + cutMarker
    }
}
