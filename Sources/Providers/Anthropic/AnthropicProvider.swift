import AsyncHTTPClient
import Foundation
import Logging
import SwitchyardCore

/// Anthropic Messages API.
public struct AnthropicProvider: Provider {
    public let configuration: ProviderConfiguration
    let http: UpstreamHTTP

    public init(configuration: ProviderConfiguration, clients: UpstreamClients) {
        self.configuration = configuration
        self.http = UpstreamHTTP(configuration: configuration, clients: clients)
    }

    var headers: [(String, String)] {
        var headers = [("anthropic-version", configuration.anthropicVersion)]
        if let key = configuration.apiKey, !key.isEmpty { headers.append((configuration.authHeader ?? "x-api-key", key)) }
        return headers
    }

    public func complete(_ request: ChatRequest, options: CallOptions) async throws -> ChatResponse {
        var (body, usesJSONTool) = try AnthropicTranslator.anthropicRequest(
            from: request, upstreamModel: request.model, defaultMaxTokens: configuration.defaultMaxTokens)
        body.stream = false
        let response = try await http.postJSON(
            http.url("/v1/messages"), body: body, headers: headers, as: Anthropic.Response.self, options: options)
        return AnthropicTranslator.chatResponse(from: response, usesJSONTool: usesJSONTool)
    }

    public func stream(_ request: ChatRequest, options: CallOptions) async throws -> ChatChunkStream {
        var (body, usesJSONTool) = try AnthropicTranslator.anthropicRequest(
            from: request, upstreamModel: request.model, defaultMaxTokens: configuration.defaultMaxTokens)
        body.stream = true
        let response = try await http.post(
            http.url("/v1/messages"), body: body, headers: headers, stream: true, options: options)
        return ChatChunkStream(
            body: response.body, format: .serverSentEvents,
            decoder: AnthropicChunkDecoder(reader: AnthropicStreamReader(usesJSONTool: usesJSONTool), provider: name),
            provider: name, lease: response.lease)
    }

    public func embed(_ request: EmbeddingRequest, options: CallOptions) async throws -> EmbeddingResponse {
        throw SwitchyardError.invalidRequest(
            "Provider '\(name)' speaks the Anthropic protocol, which has no embeddings API.", param: "model")
    }
}

extension AnthropicProvider: TokenCountingProvider {
    /// The fields `count_tokens` takes; it refuses the others (`max_tokens`, `stream`, sampling).
    static let countTokensFields: Set<String> = ["model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"]

    public func countTokens(_ request: ChatRequest, options: CallOptions) async throws -> Int {
        let (body, _) = try AnthropicTranslator.anthropicRequest(
            from: request, upstreamModel: request.model, defaultMaxTokens: configuration.defaultMaxTokens)
        guard case .object(let fields)? = JSONValue.parse(try JSONEncoder().encode(body)) else {
            throw SwitchyardError.internal("The count_tokens request could not be built.")
        }
        let json = try await http.postJSON(
            http.url("/v1/messages/count_tokens"), body: JSONValue.object(fields.filter { Self.countTokensFields.contains($0.key) }),
            headers: headers, as: JSONValue.self, options: options)
        guard let tokens = json["input_tokens"]?.tokenCount else {
            throw SwitchyardError(
                code: .badUpstreamResponse, message: "Provider '\(name)' answered count_tokens without a usable input_tokens.",
                status: 502)
        }
        return tokens
    }
}

struct AnthropicChunkDecoder: ChunkDecoder {
    var reader: AnthropicStreamReader
    let provider: String

    mutating func decode(_ message: StreamMessage) throws -> [ChatChunk] {
        do {
            return try reader.read(event: message.event, data: message.data)
        } catch let error as SwitchyardError where error.code == .badUpstreamResponse {
            throw SwitchyardError.badStreamData(provider: provider)
        }
    }

    mutating func finish() throws -> [ChatChunk] {
        guard reader.finished else { throw SwitchyardError.streamEndedEarly(provider: provider) }
        return []
    }
}

extension AnthropicProvider: ConnectionPrewarming {
    public func prewarm() async -> PrewarmOutcome { await http.prewarm("/v1/models", headers: headers) }
}
