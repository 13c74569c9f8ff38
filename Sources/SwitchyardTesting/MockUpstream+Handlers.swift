import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension MockUpstream {
    /// Chat in any of the four protocols.
    func chat(_ wire: MockProtocol, _ request: Request, pathModel: String? = nil, streamAction: Bool = false) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 64 << 20)
        record(wire, request, body: buffer)
        if let failure = authFailure(wire, request) { return failure }
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            return Self.json(400, wire.errorBody(status: 400, message: "The request body is not valid JSON."))
        }
        if wire == .anthropic, body["max_tokens"] == nil {
            return Self.json(400, wire.errorBody(status: 400, message: "max_tokens: Field required"))
        }
        let conversation = wire.conversation(body, pathModel: pathModel, streamAction: streamAction)
        let script = MockScript(
            text: conversation.lastUserText, fault: takeFault(for: conversation.model),
            defaultChunkDelayMs: configuration.defaultChunkDelayMs)
        if script.delayMs > 0 { try await Task.sleep(for: .milliseconds(script.delayMs)) }
        if script.hang { try await Task.sleep(for: .seconds(300)) }
        if let error = script.error {
            var headers: HTTPFields = [:]
            if let retryAfter = error.retryAfter { headers[HTTPField.Name("retry-after")!] = retryAfter }
            return Self.json(error.status, wire.errorBody(status: error.status, message: "Scripted error \(error.status) from the mock upstream."), headers: headers)
        }
        let serial = nextSerial()
        let answer = MockAnswer(conversation: conversation, script: script, protocolName: wire.rawValue, idPrefix: wire.toolIDPrefix)

        guard conversation.stream else {
            if script.malformed { return Self.json(200, Data("{\"id\": \"broken\", \"choices\": [".utf8)) }
            let data = wire.body(answer, model: conversation.model, serial: serial)
            if script.disconnectAfter != nil {
                // Promise the whole body, send half of it, then drop the connection.
                let half = ByteBuffer(bytes: data.prefix(data.count / 2))
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(contentLength: data.count) { writer in
                        try await writer.write(half)
                        throw MockUpstreamError(message: "scripted disconnect")
                    })
            }
            return Self.json(200, data)
        }

        let includeUsage = wire != .openai || ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false)
        let pieces = wire.streamPieces(answer, model: conversation.model, serial: serial, includeUsage: includeUsage)
        let delay = script.chunkDelayMs
        let disconnectAfter = script.disconnectAfter
        let malformed = script.malformed
        return Response(
            status: .ok, headers: [.contentType: wire.streamContentType, .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for (index, piece) in pieces.enumerated() {
                    if let limit = disconnectAfter, index >= limit { throw MockUpstreamError(message: "scripted disconnect") }
                    if malformed, index == min(1, pieces.count - 1) {
                        try await writer.write(ByteBuffer(string: wire.malformedPiece))
                        try await writer.finish(nil)
                        return
                    }
                    if delay > 0, index > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                    try await writer.write(ByteBuffer(string: piece))
                }
                try await writer.finish(nil)
            })
    }

    /// Embeddings: deterministic unit vectors derived from the text.
    func embed(_ wire: MockProtocol, _ request: Request, pathModel: String? = nil, batch: Bool = false) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 64 << 20)
        record(wire, request, body: buffer)
        if let failure = authFailure(wire, request) { return failure }
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            return Self.json(400, wire.errorBody(status: 400, message: "The request body is not valid JSON."))
        }
        switch wire {
        case .openai:
            let inputs: [String]
            if let single = body["input"] as? String { inputs = [single] } else if let many = body["input"] as? [String] { inputs = many } else {
                return Self.json(400, wire.errorBody(status: 400, message: "input must be a string or an array of strings"))
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
