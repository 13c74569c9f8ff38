import AsyncHTTPClient
import Foundation
import Logging
import SwitchyardCore

/// Google Gemini API (`generateContent`, `streamGenerateContent?alt=sse`, `embedContent`, `batchEmbedContents`).
public struct GeminiProvider: Provider {
    public let configuration: ProviderConfiguration
    let http: UpstreamHTTP

    public init(configuration: ProviderConfiguration, clients: UpstreamClients) {
        self.configuration = configuration
        self.http = UpstreamHTTP(configuration: configuration, clients: clients)
    }

    var headers: [(String, String)] {
        guard let key = configuration.apiKey, !key.isEmpty else { return [] }
        return [(configuration.authHeader ?? "x-goog-api-key", key)]
    }

    private func modelPath(_ model: String) -> String {
        let id = model.hasPrefix("models/") ? String(model.dropFirst(7)) : model
        return "/v1beta/models/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)"
    }

    public func complete(_ request: ChatRequest, options: CallOptions) async throws -> ChatResponse {
        let body = try GeminiTranslator.request(from: request)
        let json = try await http.postJSON(
            http.url(modelPath(request.model) + ":generateContent"), body: body, headers: headers, as: JSONValue.self,
            options: options)
        var toolIndex = 0
        let read = GeminiTranslator.read(json, nextToolIndex: &toolIndex)
        guard json["candidates"]?.arrayValue?.isEmpty == false else {
            let reason = json["promptFeedback"]?["blockReason"]?.stringValue ?? "no candidates"
            throw SwitchyardError(
                code: .upstream, message: "Provider '\(name)' returned no answer (\(reason)).", status: 400)
        }
        let finish: FinishReason? = read.calls.isEmpty ? read.finish : .toolCalls
        let message = ChatMessage(
            role: .assistant, content: read.text.isEmpty && !read.calls.isEmpty ? nil : .text(read.text),
            toolCalls: read.calls.isEmpty ? nil : read.calls)
        return ChatResponse(
            id: "chatcmpl-" + (json["responseId"]?.stringValue ?? UUID().uuidString.lowercased()),
            created: Int(Date().timeIntervalSince1970), model: json["modelVersion"]?.stringValue ?? request.model,
            choices: [.init(index: 0, message: message, finishReason: finish)], usage: read.usage)
    }

    public func stream(_ request: ChatRequest, options: CallOptions) async throws -> ChatChunkStream {
        let body = try GeminiTranslator.request(from: request)
        let response = try await http.post(
            http.url(modelPath(request.model) + ":streamGenerateContent", query: ["alt": "sse"]), body: body,
            headers: headers, stream: true, options: options)
        return ChatChunkStream(
            body: response.body, format: .serverSentEvents,
            decoder: GeminiChunkDecoder(provider: name, model: request.model), provider: name, lease: response.lease)
    }

    public func embed(_ request: EmbeddingRequest, options: CallOptions) async throws -> EmbeddingResponse {
        if request.tokenInput != nil { throw SwitchyardError.tokenInputNeedsText("a Gemini model") }
        let modelName = request.model.hasPrefix("models/") ? request.model : "models/\(request.model)"
        func content(_ text: String) -> JSONValue {
            var item: [String: JSONValue] = ["model": .string(modelName), "content": ["parts": [["text": .string(text)]]]]
            if let dimensions = request.dimensions { item["outputDimensionality"] = .int(Int64(dimensions)) }
            return .object(item)
        }
        let vectors: [[Float]]
        if request.input.count == 1 {
            let json = try await http.postJSON(
                http.url(modelPath(request.model) + ":embedContent"), body: content(request.input[0]), headers: headers,
                as: JSONValue.self, options: options, maxBytes: UpstreamHTTP.maxEmbeddingBodyBytes)
            vectors = [Self.floats(json["embedding"]?["values"])]
        } else {
            let body: JSONValue = ["requests": .array(request.input.map(content))]
            let json = try await http.postJSON(
                http.url(modelPath(request.model) + ":batchEmbedContents"), body: body, headers: headers,
                as: JSONValue.self, options: options, maxBytes: UpstreamHTTP.maxEmbeddingBodyBytes)
            vectors = (json["embeddings"]?.arrayValue ?? []).map { Self.floats($0["values"]) }
        }
        guard vectors.count == request.input.count, !vectors.contains(where: \.isEmpty) else {
            throw SwitchyardError(
                code: .badUpstreamResponse, message: "Provider '\(name)' returned the wrong number of embeddings.",
                status: 502)
        }
        let tokens = request.input.reduce(0) { $0 + TokenEstimator.estimate($1) }
        return EmbeddingResponse(
            model: request.model, vectors: vectors, usage: Usage(promptTokens: tokens, completionTokens: 0, estimated: true))
    }

    /// An embedding vector from upstream JSON; empty (so the caller answers 502) when any element
    /// is not a number a `Float` holds finitely.
    static func floats(_ value: JSONValue?) -> [Float] {
        guard let items = value?.arrayValue else { return [] }
        var vector: [Float] = []
        vector.reserveCapacity(items.count)
        for item in items {
            guard let number = item.finiteDoubleValue, Float(number).isFinite else { return [] }
            vector.append(Float(number))
        }
        return vector
    }
}

/// Each SSE event is a whole `GenerateContentResponse`; the last one carries the finish reason and usage.
struct GeminiChunkDecoder: ChunkDecoder {
    let provider: String
    var chunker: PieceChunker
    var toolIndex = 0
    var finishReason: FinishReason?
    var usage: Usage?

    init(provider: String, model: String) {
        self.provider = provider
        chunker = PieceChunker(model: model)
    }

    mutating func decode(_ message: StreamMessage) throws -> [ChatChunk] {
        guard let json = JSONValue.parse(message.data) else { throw SwitchyardError.badStreamData(provider: provider) }
        if let error = json["error"] {
            throw SwitchyardError.midStream(provider: provider, message: error["message"]?.stringValue ?? "unknown error")
        }
        let first = toolIndex
        let read = GeminiTranslator.read(json, nextToolIndex: &toolIndex)
        if let usage = read.usage { self.usage = usage }
        let (chunks, finish) = chunker.chunks(text: read.text, calls: read.calls, firstToolIndex: first, finish: read.finish)
        if let finish { finishReason = finish }
        return chunks
    }

    mutating func finish() throws -> [ChatChunk] {
        guard finishReason != nil else { throw SwitchyardError.streamEndedEarly(provider: provider) }
        return [chunker.usageChunk(usage)]
    }
}

extension GeminiProvider: ConnectionPrewarming {
    public func prewarm() async -> PrewarmOutcome { await http.prewarm("/v1beta/models", headers: headers) }
}
