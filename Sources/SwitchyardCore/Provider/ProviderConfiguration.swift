import Foundation

/// A configured upstream: where it is, how to authenticate, how long to wait.
public struct ProviderConfiguration: Sendable, Hashable {
    /// The wire protocol the upstream speaks.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// OpenAI Chat Completions: OpenAI, Azure OpenAI, vLLM, llama.cpp, Groq, Together, Fireworks, Mistral, DeepSeek, OpenRouter…
        case openai
        case anthropic
        case gemini
        case ollama
    }

    public var name: String
    public var kind: Kind
    /// Base URL. OpenAI-compatible: up to and including `/v1` (or an Azure deployment path).
    /// Anthropic, Gemini, Ollama: the host root.
    public var baseURL: String
    public var apiKey: String?
    /// The header that carries the key, when not the protocol's usual one (`api-key` for Azure).
    public var authHeader: String?
    /// Extra headers sent with every request.
    public var headers: [String: String]
    /// Extra query parameters sent with every request (`api-version` for Azure).
    public var query: [String: String]
    /// How long to wait for the response head (first byte of a stream), in milliseconds.
    public var timeoutMilliseconds: Int
    /// `anthropic-version` header value.
    public var anthropicVersion: String
    /// Output-token cap sent to Anthropic when the request sets none (the API requires one).
    public var defaultMaxTokens: Int
    /// Why there is no key, when the config named one that is not there (`${OPENAI_API_KEY} is not set`):
    /// said in the error a client gets when the upstream then refuses the request.
    public var missingKeyHint: String?
    /// The upstream speaks OpenAI's Responses API itself (`responses_api: native`): `/v1/responses`
    /// requests for its models are passed through instead of translated to chat completions.
    public var nativeResponses = false
    /// Most connections the gateway keeps open to this upstream at once (`max_connections`, 1...65,536), spread
    /// over the event loops; nil: `defaultConnectionsPerLoop` on each loop. A request that finds every one of them
    /// busy waits for one (counted in `switchyard_upstream_connection_waits_total`). HTTP/2 upstreams carry many
    /// requests on one connection, so for them this bounds connections, not requests.
    public var maxConnections: Int?
    /// Connections opened when `serve` starts (`prewarm_connections`, 0...1,024), so the first requests do not pay
    /// connect and TLS time. 0 (the default) opens none.
    public var prewarmConnections = 0

    /// Connections per event loop when `max_connections` is not set: a thousand concurrent streams on a
    /// plain-HTTP upstream must not wait for each other (at 256 per loop, 488 of 1,000 did).
    public static let defaultConnectionsPerLoop = 1_024
    /// The accepted range of `max_connections`.
    public static let maxConnectionsRange = 1...65_536
    /// The accepted range of `prewarm_connections`.
    public static let prewarmConnectionsRange = 0...1_024

    public init(
        name: String, kind: Kind, baseURL: String, apiKey: String? = nil, authHeader: String? = nil,
        headers: [String: String] = [:], query: [String: String] = [:], timeoutMilliseconds: Int = 600_000,
        anthropicVersion: String = "2023-06-01", defaultMaxTokens: Int = 4096
    ) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.authHeader = authHeader
        self.headers = headers
        self.query = query
        self.timeoutMilliseconds = timeoutMilliseconds
        self.anthropicVersion = anthropicVersion
        self.defaultMaxTokens = defaultMaxTokens
    }

    /// Every configured value that may be a credential: the key, header values and query values
    /// (long enough to be one), and the token after `Bearer ` in a header.
    public var secretValues: [String] {
        var values: [String] = []
        if let apiKey, !apiKey.isEmpty { values.append(apiKey) }
        for value in Array(headers.values) + Array(query.values) where value.utf8.count >= 8 {
            values.append(value)
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[1].utf8.count >= 8 { values.append(String(parts[1])) }
        }
        return values.sorted { $0.utf8.count > $1.utf8.count }
    }

    /// `text` with every secret value replaced by `***`, for error messages and logs.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in secretValues where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }
}
