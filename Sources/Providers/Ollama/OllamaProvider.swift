import AsyncHTTPClient
import Foundation
import Logging
import SwitchyardCore

/// Ollama's native API (`/api/chat` with NDJSON streaming, `/api/embed`).
public struct OllamaProvider: Provider {
    public let configuration: ProviderConfiguration
    let http: UpstreamHTTP

    public init(configuration: ProviderConfiguration, clients: UpstreamClients) {
        self.configuration = configuration
        self.http = UpstreamHTTP(configuration: configuration, clients: clients)
    }

    var headers: [(String, String)] {
        guard let key = configuration.apiKey, !key.isEmpty else { return [] }
        return [(configuration.authHeader ?? "authorization", configuration.authHeader == nil ? "Bearer \(key)" : key)]
    }

    public func complete(_ request: ChatRequest, options: CallOptions) async throws -> ChatResponse {
        let body = try Self.body(for: request, stream: false)
        let json = try await http.postJSON(http.url("/api/chat"), body: body, headers: headers, as: JSONValue.self, options: options)
        var toolIndex = 0
        let read = Self.read(json, nextToolIndex: &toolIndex)
        let message = ChatMessage(
            role: .assistant, content: read.text.isEmpty && !read.calls.isEmpty ? nil : .text(read.text),
            toolCalls: read.calls.isEmpty ? nil : read.calls)
        return ChatResponse(
            id: "chatcmpl-" + UUID().uuidString.lowercased(), created: Int(Date().timeIntervalSince1970),
            model: json["model"]?.stringValue ?? request.model,
            choices: [.init(index: 0, message: message, finishReason: read.calls.isEmpty ? read.finish : .toolCalls)],
            usage: read.usage)
    }

    public func stream(_ request: ChatRequest, options: CallOptions) async throws -> ChatChunkStream {
        let body = try Self.body(for: request, stream: true)
        let response = try await http.post(http.url("/api/chat"), body: body, headers: headers, stream: true, options: options)
        return ChatChunkStream(
            body: response.body, format: .newlineDelimitedJSON,
            decoder: OllamaChunkDecoder(provider: name, model: request.model), provider: name, lease: response.lease)
    }

    public func embed(_ request: EmbeddingRequest, options: CallOptions) async throws -> EmbeddingResponse {
        if request.tokenInput != nil { throw SwitchyardError.tokenInputNeedsText("an Ollama model") }
        var body: [String: JSONValue] = ["model": .string(request.model), "input": .array(request.input.map { .string($0) })]
        if let dimensions = request.dimensions { body["dimensions"] = .int(Int64(dimensions)) }
        let json = try await http.postJSON(
            http.url("/api/embed"), body: JSONValue.object(body), headers: headers, as: JSONValue.self, options: options,
            maxBytes: UpstreamHTTP.maxEmbeddingBodyBytes)
        let vectors = (json["embeddings"]?.arrayValue ?? []).map { GeminiProvider.floats($0) }
        guard vectors.count == request.input.count, !vectors.contains(where: \.isEmpty) else {
            throw SwitchyardError(
                code: .badUpstreamResponse, message: "Provider '\(name)' returned the wrong number of embeddings.",
                status: 502)
        }
        let counted = json["prompt_eval_count"]?.tokenCount
        let tokens = counted ?? request.input.reduce(0) { $0 + TokenEstimator.estimate($1) }
        return EmbeddingResponse(
            model: request.model, vectors: vectors,
            usage: Usage(promptTokens: tokens, completionTokens: 0, estimated: counted == nil))
    }

    static func body(for request: ChatRequest, stream: Bool) throws -> JSONValue {
        var toolNames: [String: String] = [:]
        var messages: [JSONValue] = []
        for (index, message) in request.messages.enumerated() {
            var item: [String: JSONValue] = ["role": .string(message.role == .developer ? "system" : message.role.rawValue)]
            item["content"] = .string(message.text)
            var images: [JSONValue] = []
            for part in message.content?.parts ?? [] {
                switch part {
                case .imageURL(let url, _):
                    guard let data = DataURL(url) else {
                        throw SwitchyardError.invalidRequest(
                            "Ollama models take images as data: URLs (base64), not links.",
                            param: "messages[\(index)].content")
                    }
                    images.append(.string(data.base64))
                case .other(let value):
                    throw SwitchyardError.invalidRequest(
                        "Content parts of type '\(value["type"]?.stringValue ?? "?")' cannot be sent to an Ollama model.",
                        param: "messages[\(index)].content")
                case .text:
                    continue
                }
            }
            if !images.isEmpty { item["images"] = .array(images) }
            if let calls = message.toolCalls, !calls.isEmpty {
                item["tool_calls"] = .array(
                    calls.map { call in
                        toolNames[call.id] = call.function.name
                        return [
                            "function": [
                                "name": .string(call.function.name),
                                "arguments": JSONValue.parse(call.function.arguments) ?? [:],
                            ]
                        ]
                    })
            }
            if message.role == .tool, let id = message.toolCallID, let name = toolNames[id] {
                item["tool_name"] = .string(name)
            }
            messages.append(.object(item))
        }

        var body: [String: JSONValue] = [
            "model": .string(request.model), "messages": .array(messages), "stream": .bool(stream),
        ]
        if let tools = request.tools, !tools.isEmpty, request.toolChoice != ToolChoice.none {
            body["tools"] = .array(
                tools.map { tool in
                    var function: [String: JSONValue] = ["name": .string(tool.function.name)]
                    if let description = tool.function.description { function["description"] = .string(description) }
                    function["parameters"] = tool.function.parameters ?? ["type": "object", "properties": [:]]
                    return ["type": "function", "function": .object(function)]
                })
        }
        if let format = request.responseFormat, format.wantsJSON {
            body["format"] = format.jsonSchema?.schema ?? "json"
        }
        var options: [String: JSONValue] = [:]
        if let temperature = request.temperature { options["temperature"] = .double(temperature) }
        if let topP = request.topP { options["top_p"] = .double(topP) }
        if let limit = request.outputTokenLimit { options["num_predict"] = .int(Int64(limit)) }
        if let stop = request.stop, !stop.isEmpty { options["stop"] = .array(stop.map { .string($0) }) }
        if let seed = request.seed { options["seed"] = .int(Int64(seed)) }
        if let topK = request.extra["top_k"] { options["top_k"] = topK }
        if !options.isEmpty { body["options"] = .object(options) }
        if let keepAlive = request.extra["keep_alive"] { body["keep_alive"] = keepAlive }
        return .object(body)
    }

    static func read(_ json: JSONValue, nextToolIndex: inout Int) -> (
        text: String, calls: [ToolCall], finish: FinishReason?, usage: Usage?
    ) {
        let message = json["message"]
        let text = message?["content"]?.stringValue ?? ""
        var calls: [ToolCall] = []
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            let function = call["function"]
            let arguments: String
            if case .string(let raw)? = function?["arguments"] { arguments = raw } else {
                arguments = (function?["arguments"] ?? [:]).jsonString()
            }
            calls.append(
                ToolCall(
                    id: call["id"]?.stringValue ?? "call_\(nextToolIndex)", name: function?["name"]?.stringValue ?? "",
                    arguments: arguments))
            nextToolIndex += 1
        }
        var finish: FinishReason?
        var usage: Usage?
        if json["done"]?.boolValue == true {
            finish = json["done_reason"]?.stringValue == "length" ? .length : .stop
            // Counts that are not plausible token counts are no counts: the gateway then estimates.
            if let prompt = json["prompt_eval_count"]?.tokenCount, let completion = json["eval_count"]?.tokenCount {
                usage = Usage(promptTokens: prompt, completionTokens: completion)
            }
        }
        return (text, calls, finish, usage)
    }
}

/// One JSON object per line; the line with `"done": true` ends the stream and carries the counts.
struct OllamaChunkDecoder: ChunkDecoder {
    let provider: String
    var chunker: PieceChunker
    var toolIndex = 0
    var done = false
    var usage: Usage?

    init(provider: String, model: String) {
        self.provider = provider
        chunker = PieceChunker(model: model)
    }

    mutating func decode(_ message: StreamMessage) throws -> [ChatChunk] {
        guard let json = JSONValue.parse(message.data) else { throw SwitchyardError.badStreamData(provider: provider) }
        if let error = json["error"]?.stringValue {
            throw SwitchyardError.midStream(provider: provider, message: "\(error)")
        }
        let first = toolIndex
        let read = OllamaProvider.read(json, nextToolIndex: &toolIndex)
        let (chunks, finish) = chunker.chunks(text: read.text, calls: read.calls, firstToolIndex: first, finish: read.finish)
        if finish != nil {
            done = true
            usage = read.usage
        }
        return chunks
    }

    mutating func finish() throws -> [ChatChunk] {
        guard done else { throw SwitchyardError.streamEndedEarly(provider: provider) }
        return [chunker.usageChunk(usage)]
    }
}

extension OllamaProvider: ConnectionPrewarming {
    public func prewarm() async -> PrewarmOutcome { await http.prewarm("/api/version", headers: headers) }
}
