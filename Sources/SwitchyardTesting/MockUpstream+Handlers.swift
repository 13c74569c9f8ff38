import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

extension MockUpstream {
    /// Gemini: `POST /v1beta/models/{model}:{action}`, the path after `models/` in `target`.
    func gemini(_ request: Request, _ target: [Substring]) async throws -> Response {
        let joined = target.joined(separator: "/")
        guard let colon = joined.lastIndex(of: ":") else {
            return Self.json(404, MockProtocol.gemini.errorBody(status: 404, message: "Expected models/{model}:{action}, got '\(joined)'."))
        }
        let model = String(joined[..<colon])
        let action = String(joined[joined.index(after: colon)...])
        switch action {
        case "generateContent": return try await chat(.gemini, request, pathModel: model, streamAction: false)
        case "streamGenerateContent": return try await chat(.gemini, request, pathModel: model, streamAction: true)
        case "embedContent", "batchEmbedContents":
            return try await embed(.gemini, request, pathModel: model, batch: action == "batchEmbedContents")
        default:
            return Self.json(404, MockProtocol.gemini.errorBody(status: 404, message: "Method '\(action)' is not supported by the mock."))
        }
    }

    /// Chat in any of the four protocols.
    func chat(_ wire: MockProtocol, _ request: Request, pathModel: String? = nil, streamAction: Bool = false) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        record(wire, request, body: buffer)
        if let failure = authFailure(wire, request) { return failure }
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            return Self.json(400, wire.errorBody(status: 400, message: "The request body is not valid JSON."))
        }
        if wire == .anthropic, body["max_tokens"] == nil {
            return Self.json(400, wire.errorBody(status: 400, message: "max_tokens: Field required"))
        }
        if wire != .gemini, (body["model"] as? String ?? "").isEmpty {
            return Self.json(400, wire.errorBody(status: 400, message: "model: Field required"))
        }
        let conversation = wire.conversation(body, pathModel: pathModel, streamAction: streamAction)
        let script = MockScript(
            text: conversation.lastUserText, fault: takeFault(for: conversation.model),
            defaultChunkDelayMs: configuration.defaultChunkDelayMs, model: conversation.model)
        if let early = try await scriptedPrelude(wire, request, script) { return early }
        let serial = nextSerial()
        let answer = MockAnswer(conversation: conversation, script: script, protocolName: wire.rawValue, idPrefix: wire.toolIDPrefix)
        var headers = Self.requestIDHeader(wire, serial: serial)

        guard conversation.stream else {
            if script.malformed { return Self.json(200, Data("{\"id\": \"broken\", \"choices\": [".utf8), headers: headers) }
            let data = wire.body(answer, model: conversation.model, serial: serial)
            if script.disconnectAfter != nil { return Self.truncated(data, headers: headers) }
            return Self.json(200, data, headers: headers)
        }

        // Gemini without `alt=sse` streams one JSON array of responses, as the real API does.
        let geminiArray = wire == .gemini && request.uri.queryParameters["alt"] != "sse"
        let includeUsage = wire != .openai || ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false)
        func render() -> [String] {
            var pieces = wire.streamPieces(answer, model: conversation.model, serial: serial, includeUsage: includeUsage)
            if geminiArray {
                let objects = pieces.map { $0.dropFirst("data: ".count).trimmingCharacters(in: .whitespacesAndNewlines) }
                pieces = objects.enumerated().map { ($0.offset == 0 ? "[" : ",\r\n") + $0.element }
                pieces.append("]")
            }
            return pieces
        }
        let frames: [String]
        if configuration.replayStreams {
            let key = [
                wire.rawValue, conversation.model, "\(includeUsage)", "\(geminiArray)", answer.text,
                "\(answer.promptTokens)/\(answer.completionTokens)/\(answer.cachedTokens)/\(answer.stopLength)/\(answer.includeUsage)",
                "\(answer.pieceCharacters ?? -1)", answer.toolCalls.map { "\($0.id)\u{1}\($0.name)\u{1}\($0.arguments)" }.joined(separator: "\u{2}"),
            ].joined(separator: "\u{0}")
            if let known = replayedStreams.withLock({ $0[key] }) {
                frames = known
            } else {
                let rendered = render()
                replayedStreams.withLock { memo in
                    if memo.count >= 256 { memo.removeAll() }
                    memo[key] = rendered
                }
                frames = rendered
            }
        } else {
            frames = render()
        }
        let delay = script.chunkDelayMs
        let disconnectAfter = script.disconnectAfter
        let malformed = script.malformed
        headers[.contentType] = geminiArray ? "application/json" : wire.streamContentType
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for (index, piece) in frames.enumerated() {
                    if let limit = disconnectAfter, index >= limit { try await Self.disconnect() }
                    if delay > 0, index > 0 { try await Self.pause(milliseconds: delay) }
                    if malformed, index == min(1, frames.count - 1) {
                        try await writer.write(ByteBuffer(string: wire.malformedPiece))
                        try await writer.finish(nil)
                        return
                    }
                    try await writer.write(ByteBuffer(string: piece))
                }
                try await writer.finish(nil)
            })
    }

    /// Anthropic token counting: the prompt tokens a chat answer to the same body would report.
    func countTokens(_ request: Request) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        record(.anthropic, request, body: buffer)
        if let failure = authFailure(.anthropic, request) { return failure }
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            return Self.json(400, MockProtocol.anthropic.errorBody(status: 400, message: "The request body is not valid JSON."))
        }
        for field in ["max_tokens", "stream", "temperature"] where body[field] != nil {
            return Self.json(400, MockProtocol.anthropic.errorBody(status: 400, message: "\(field): Extra inputs are not permitted"))
        }
        let conversation = MockProtocol.anthropic.conversation(body, pathModel: nil, streamAction: false)
        let tokens = conversation.texts.reduce(0) { $0 + (($1.utf8.count + 3) / 4) + 4 }
        return Self.json(200, JSONSerialization.bytes(["input_tokens": tokens]))
    }

    /// What a script does before any answer: delay, hang, scripted error. Returns the error response, if any.
    func scriptedPrelude(_ wire: MockProtocol, _ request: Request, _ script: MockScript) async throws -> Response? {
        if script.delayMs > 0 { try await Self.pause(milliseconds: script.delayMs) }
        if script.hang {
            // Never answer: until the client goes away, the server shuts down, or five minutes pass.
            let waitedOut = try? await request.body.consumeWithCancellationOnInboundClose { _ in
                try await Self.pause(milliseconds: 300_000)
                return true
            }
            // Cut short (client gone, server stopping): never fall through to an answer.
            if waitedOut != true { throw MockUpstreamError(message: "hang ended before its time") }
        }
        guard let error = script.error else { return nil }
        var headers: HTTPFields = [:]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = retryAfter }
        return Self.json(
            error.status, wire.errorBody(status: error.status, message: "Scripted error \(error.status) from the mock upstream."),
            headers: headers)
    }

    /// Sleeps, but ends early when the server shuts down, so `stop()` and SIGTERM never wait on a scripted pause.
    static func pause(milliseconds: Int) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(milliseconds)) }
        try Task.checkCancellation()
    }

    /// Drops the connection (throwing from a body writer closes it without a terminator). The short
    /// pause first lets the client read what was sent: a close right behind the last bytes can make an
    /// HTTP client discard them, and the script promises N delivered chunks.
    static func disconnect() async throws -> Never {
        try await pause(milliseconds: 100)
        throw MockUpstreamError(message: "scripted disconnect")
    }

    /// Promises the whole body, sends half of it, then drops the connection.
    static func truncated(_ data: Data, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let half = ByteBuffer(bytes: data.prefix(data.count / 2))
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody(contentLength: data.count) { writer in
                try await writer.write(half)
                try await Self.disconnect()
            })
    }

    /// The request-id header each provider sends.
    static func requestIDHeader(_ wire: MockProtocol, serial: Int) -> HTTPFields {
        switch wire {
        case .openai: return [.xRequestID: "req_mock_\(serial)"]
        case .anthropic: return [.requestID: "req_mock_\(serial)"]
        case .gemini, .ollama: return [:]
        }
    }

    /// Embeddings: deterministic unit vectors derived from the text.
    /// Faults set for the model apply here too (error, delay, hang, malformed); there is no prompt to script.
    func embed(_ wire: MockProtocol, _ request: Request, pathModel: String? = nil, batch: Bool = false, legacy: Bool = false) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        record(wire, request, body: buffer)
        if let failure = authFailure(wire, request) { return failure }
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            return Self.json(400, wire.errorBody(status: 400, message: "The request body is not valid JSON."))
        }
        let model = pathModel ?? body["model"] as? String ?? ""
        let script = MockScript(text: "", fault: takeFault(for: model), defaultChunkDelayMs: 0)
        if let early = try await scriptedPrelude(wire, request, script) { return early }
        if script.malformed { return Self.json(200, Data("{\"data\": [".utf8)) }
        if legacy {
            // Ollama's older `/api/embeddings`: one prompt, one vector.
            let vector = Self.vector(body["prompt"] as? String ?? "", dimensions: 16).map(Double.init)
            return Self.json(200, JSONSerialization.bytes(["embedding": vector]))
        }
        switch wire {
        case .openai:
            // Token ids, as OpenAI takes them, are embedded as their text form ("15339 1917"), so a test
            // can tell which ids arrived: the vector equals the one for that text.
            let inputs: [String]
            if let single = body["input"] as? String { inputs = [single] } else if let many = body["input"] as? [String] { inputs = many } else if let ids = body["input"] as? [Int] {
                inputs = [ids.map(String.init).joined(separator: " ")]
            } else if let arrays = body["input"] as? [[Int]] {
                inputs = arrays.map { $0.map(String.init).joined(separator: " ") }
            } else {
                return Self.json(400, wire.errorBody(status: 400, message: "input must be a string, an array of strings or token arrays"))
            }
            let dimensions = body["dimensions"] as? Int ?? 16
            let base64 = body["encoding_format"] as? String == "base64"
            let data: [[String: Any]] = inputs.enumerated().map { index, text in
                let vector = Self.vector(text, dimensions: dimensions)
                let embedding: Any = base64 ? Self.base64(vector) : vector.map(Double.init)
                return ["object": "embedding", "index": index, "embedding": embedding]
            }
            let tokens = inputs.reduce(0) { $0 + ($1.utf8.count + 3) / 4 }
            return Self.json(200, JSONSerialization.bytes([
                "object": "list", "data": data, "model": body["model"] as? String ?? "",
                "usage": ["prompt_tokens": tokens, "total_tokens": tokens],
            ]))
        case .gemini:
            func values(_ request: [String: Any]) -> [Double] {
                let text = MockProtocol.text((request["content"] as? [String: Any])?["parts"])
                return Self.vector(text, dimensions: request["outputDimensionality"] as? Int ?? 16).map(Double.init)
            }
            if batch {
                let requests = body["requests"] as? [[String: Any]] ?? []
                return Self.json(200, JSONSerialization.bytes(["embeddings": requests.map { ["values": values($0)] }]))
            }
            return Self.json(200, JSONSerialization.bytes(["embedding": ["values": values(body)]]))
        case .ollama:
            let inputs = (body["input"] as? [String]) ?? [(body["input"] as? String) ?? ""]
            let dimensions = body["dimensions"] as? Int ?? 16
            return Self.json(200, JSONSerialization.bytes([
                "model": body["model"] as? String ?? "", "embeddings": inputs.map { Self.vector($0, dimensions: dimensions).map(Double.init) },
                "total_duration": 1000, "load_duration": 100, "prompt_eval_count": inputs.reduce(0) { $0 + ($1.utf8.count + 3) / 4 },
            ]))
        case .anthropic:
            return Self.json(404, wire.errorBody(status: 404, message: "Anthropic has no embeddings API."))
        }
    }

    static func vector(_ text: String, dimensions: Int) -> [Float] {
        var state: UInt64 = 1_469_598_103_934_665_603
        for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 1_099_511_628_211 }
        var values = [Float]()
        values.reserveCapacity(dimensions)
        for _ in 0..<max(1, dimensions) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1)
        }
        let norm = max(sqrt(values.reduce(0) { $0 + $1 * $1 }), 1e-6)
        return values.map { $0 / norm }
    }

    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }
}
