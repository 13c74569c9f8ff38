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
            provider: name)
    }

    public func embed(_ request: EmbeddingRequest, options: CallOptions) async throws -> EmbeddingResponse {
        throw SwitchyardError.invalidRequest(
            "Provider '\(name)' speaks the Anthropic protocol, which has no embeddings API.", param: "model")
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
