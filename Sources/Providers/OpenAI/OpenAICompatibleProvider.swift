import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import SwitchyardCore

/// OpenAI Chat Completions and every server that speaks it (Azure OpenAI, vLLM, llama.cpp, Groq,
/// Together, Fireworks, Mistral, DeepSeek, OpenRouter…). Unknown request fields pass through.
public struct OpenAICompatibleProvider: Provider {
    public let configuration: ProviderConfiguration
    let http: UpstreamHTTP

    public init(configuration: ProviderConfiguration, clients: UpstreamClients) {
        self.configuration = configuration
        self.http = UpstreamHTTP(configuration: configuration, clients: clients)
    }

    var authHeaders: [(String, String)] {
        guard let key = configuration.apiKey, !key.isEmpty else { return [] }
        if let header = configuration.authHeader { return [(header, key)] }
        return [("authorization", "Bearer \(key)")]
    }

    public func complete(_ request: ChatRequest, options: CallOptions) async throws -> ChatResponse {
        var request = request
        request.stream = false
        return try await http.postJSON(
            http.url("/chat/completions"), body: request, headers: authHeaders, as: ChatResponse.self, options: options)
    }

    public func stream(_ request: ChatRequest, options: CallOptions) async throws -> ChatChunkStream {
        var request = request
        request.stream = true
        request.includeUsage = true  // always: cost accounting needs the usage chunk
        let response = try await http.post(
            http.url("/chat/completions"), body: request, headers: authHeaders, stream: true, options: options)
        return ChatChunkStream(
            body: response.body, format: .serverSentEvents, decoder: OpenAIChunkDecoder(provider: configuration.name),
            provider: configuration.name, lease: response.lease)
    }

    public func embed(_ request: EmbeddingRequest, options: CallOptions) async throws -> EmbeddingResponse {
        var request = request
        request.encodingFormat = nil  // floats from upstream; the edge encodes base64 if the client asked
        let response = try await http.postJSON(
            http.url("/embeddings"), body: request, headers: authHeaders, as: OpenAIEmbeddingResponse.self,
            options: options, maxBytes: UpstreamHTTP.maxEmbeddingBodyBytes)
        let ordered = response.data.sorted { $0.index < $1.index }.map(\.embedding)
        guard ordered.count == request.inputCount, ordered.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isFinite) }) else {
            throw SwitchyardError(
                code: .badUpstreamResponse,
                message: "Provider '\(name)' returned \(ordered.count) embeddings for \(request.inputCount) inputs, or vectors that are not finite numbers.",
                status: 502)
        }
        let counted = response.usage?["prompt_tokens"]?.tokenCount
        let usage = Usage(
            promptTokens: counted ?? request.estimatedTokens,
            completionTokens: 0, estimated: counted == nil)
        return EmbeddingResponse(model: response.model ?? request.model, vectors: ordered, usage: usage)
    }
}

struct OpenAIEmbeddingResponse: Decodable {
    struct Item: Decodable {
        var index: Int
        var embedding: [Float]
    }

    var data: [Item]
    var model: String?
    /// Read by the caller with `tokenCount`: upstream numbers are not trusted as they come.
    var usage: JSONValue?
}

/// `data: {chunk}` events until `data: [DONE]`.
struct OpenAIChunkDecoder: ChunkDecoder {
    let provider: String
    var sawDone = false
    var sawFinish = false
    let decoder = JSONDecoder()

    init(provider: String) {
        self.provider = provider
    }

    mutating func decode(_ message: StreamMessage) throws -> [ChatChunk] {
        if message.data == "[DONE]" {
            sawDone = true
            return []
        }
        if message.data.contains("\"error\""), let error = JSONValue.parse(message.data)?["error"], error != .null {
            let text = error["message"]?.stringValue ?? "stream failed"
            throw SwitchyardError.midStream(provider: provider, message: text)
        }
        let chunk: ChatChunk
        do {
            chunk = try decoder.decode(ChatChunk.self, from: Data(message.data.utf8))
        } catch {
            throw SwitchyardError.badStreamData(provider: provider)
        }
        if chunk.choices.contains(where: { $0.finishReason != nil }) { sawFinish = true }
        return [chunk]
    }

    mutating func finish() throws -> [ChatChunk] {
        // Some compatible servers omit [DONE]; a finish reason is enough to call the stream complete.
        guard sawDone || sawFinish else { throw SwitchyardError.streamEndedEarly(provider: provider) }
        return []
    }
}

extension OpenAICompatibleProvider: NativeResponsesProvider {
    public func createResponse(_ body: JSONValue, options: CallOptions) async throws -> JSONValue {
        var body = body
        if case .object(var object) = body {
            object["stream"] = false
            body = .object(object)
        }
        return try await http.postJSON(http.url("/responses"), body: body, headers: authHeaders, as: JSONValue.self, options: options)
    }

    public func streamResponse(_ body: JSONValue, options: CallOptions) async throws -> UpstreamBytes {
        let response = try await http.post(http.url("/responses"), body: body, headers: authHeaders, stream: true, options: options)
        return UpstreamBytes(body: response.body, provider: configuration, lease: response.lease)
    }
}

extension OpenAICompatibleProvider: ConnectionPrewarming {
    public func prewarm() async -> PrewarmOutcome { await http.prewarm("/models", headers: authHeaders) }
}
