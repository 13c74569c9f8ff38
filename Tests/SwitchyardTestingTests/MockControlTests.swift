import AsyncHTTPClient
import Foundation
import NIOCore
import SwitchyardTesting
import Testing

/// One chat request per protocol, with `text` as the last user message.
enum Wire: String, CaseIterable, Sendable {
    case openai, anthropic, gemini, ollama

    func chat(_ mock: MockUpstream, _ text: String, model: String = "model-x", stream: Bool = false) async throws -> MockReply {
        switch self {
        case .openai: return try await mock.openAI(["model": model, "stream": stream, "messages": [user(text)]])
        case .anthropic: return try await mock.anthropic(["model": model, "max_tokens": 64, "stream": stream, "messages": [user(text)]])
        case .gemini:
            return try await mock.gemini(
                model, stream ? "streamGenerateContent" : "generateContent", ["contents": [["role": "user", "parts": [["text": text]]]]],
                query: stream ? "?alt=sse" : "")
        case .ollama: return try await mock.ollama(["model": model, "stream": stream, "messages": [user(text)]])
        }
    }

    /// The error message and type-ish field from the protocol's envelope.
    func errorKind(_ reply: MockReply) -> String? {
        let body = reply.object
        switch self {
        case .openai: return body[object: "error"][string: "type"]
        case .anthropic: return body[string: "type"] == "error" ? body[object: "error"][string: "type"] : nil
        case .gemini: return body[object: "error"][int: "code"] == reply.status ? body[object: "error"][string: "status"] : nil
        case .ollama: return body[string: "error"] != nil ? "error" : nil
        }
    }
}

@Suite("Directives, faults, introspection and lifecycle")
struct MockControlTests {
    @Test(arguments: Wire.allCases)
    func scriptedRateLimitUsesTheProtocolsEnvelope(_ wire: Wire) async throws {
        try await withMock { mock in
            let reply = try await wire.chat(mock, "please [[error: 429 retry-after=2]]")
            #expect(reply.status == 429)
            #expect(reply.headers.first(name: "retry-after") == "2")
            let expected = ["openai": "requests", "anthropic": "rate_limit_error", "gemini": "RESOURCE_EXHAUSTED", "ollama": "error"]
            #expect(wire.errorKind(reply) == expected[wire.rawValue])
        }
    }

    @Test(arguments: [(500, "api_error", "INTERNAL"), (503, "overloaded_error", "UNAVAILABLE"), (529, "overloaded_error", "INTERNAL"), (401, "authentication_error", "UNAUTHENTICATED"), (404, "not_found_error", "NOT_FOUND")])
    func errorTypesByStatus(_ status: Int, _ anthropicType: String, _ geminiStatus: String) async throws {
        try await withMock { mock in
            let anthropic = try await Wire.anthropic.chat(mock, "[[error: \(status)]]")
            #expect(anthropic.status == status)
            #expect(Wire.anthropic.errorKind(anthropic) == anthropicType)
            let gemini = try await Wire.gemini.chat(mock, "[[error: \(status)]]")
            #expect(Wire.gemini.errorKind(gemini) == geminiStatus)
            let openai = try await Wire.openai.chat(mock, "[[error: \(status)]]")
            #expect(openai.object[object: "error"][string: "message"] != nil)
            #expect(openai.object[object: "error"].keys.contains("param"))
        }
    }

    @Test(arguments: Wire.allCases)
    func streamsCarryAtLeastTwoTextDeltas(_ wire: Wire) async throws {
        try await withMock { mock in
            let reply = try await wire.chat(mock, "[[reply: Hi]]", stream: true)
            #expect(reply.status == 200)
            let pieces: [String]
            switch wire {
            case .openai: pieces = reply.dataObjects.compactMap { $0[array: "choices"].first?[object: "delta"][string: "content"] }.filter { !$0.isEmpty }
            case .anthropic: pieces = reply.events.compactMap { $0.data[object: "delta"][string: "text"] }
            case .gemini: pieces = reply.dataObjects.compactMap { $0[array: "candidates"].first?[object: "content"][array: "parts"].first?[string: "text"] }.filter { !$0.isEmpty }
            case .ollama: pieces = reply.lines.compactMap { $0[object: "message"][string: "content"] }.filter { !$0.isEmpty }
            }
            #expect(pieces == ["H", "i"])
        }
    }

    @Test func faultsApplyToTheNextRequestsForTheModel() async throws {
        try await withMock { mock in
            await mock.setFault(model: "flaky", fault: "error: 500", count: 2)
            #expect(try await Wire.openai.chat(mock, "hi", model: "flaky").status == 500)
            #expect(try await Wire.openai.chat(mock, "hi", model: "steady").status == 200)
            #expect(try await Wire.anthropic.chat(mock, "hi", model: "flaky").status == 500)
            #expect(try await Wire.openai.chat(mock, "hi", model: "flaky").status == 200)

            // The same through the HTTP admin API, until cleared.
            let set = try await mock.send(.POST, "/_mock/faults", json: ["model": "flaky", "fault": "error: 503", "count": -1])
            #expect(set.status == 204)
            for _ in 0..<3 { #expect(try await Wire.gemini.chat(mock, "hi", model: "flaky").status == 503) }
            #expect(try await mock.send(.DELETE, "/_mock/faults").status == 204)
            #expect(try await Wire.gemini.chat(mock, "hi", model: "flaky").status == 200)

            await mock.setFault(model: "flaky", fault: "[[reply: scripted]]", count: 1)
            let scripted = try await Wire.ollama.chat(mock, "hi", model: "flaky")
            #expect(scripted.object[object: "message"][string: "content"] == "scripted")
            await mock.clearFaults()
        }
    }

    @Test func recordedRequestsThroughSwiftAndHTTP() async throws {
        try await withMock { mock in
            _ = try await mock.openAI(["model": "m", "messages": [user("one")]], headers: [("X-Custom", "Value")])
            _ = try await Wire.gemini.chat(mock, "two")
            let recorded = await mock.recordedRequests()
            #expect(recorded.map(\.protocolName) == ["openai", "gemini"])
            #expect(recorded[0].path == "/v1/chat/completions")
            #expect(recorded[0].method == "POST")
            #expect(recorded[0].headers["x-custom"] == "Value")
            #expect(recorded[0].jsonObject?[string: "model"] == "m")
            #expect(recorded[1].path == "/v1beta/models/model-x:generateContent")

            let http = try await mock.send(.GET, "/_mock/requests")
            let items = http.array.compactMap { $0 as? [String: Any] }
            #expect(items.map { $0[string: "protocol"] } == ["openai", "gemini"])
            #expect(items[0][object: "headers"][string: "x-custom"] == "Value")
            #expect(items[0][object: "body"][string: "model"] == "m")
            #expect(items[0][string: "method"] == "POST")

            #expect(try await mock.send(.DELETE, "/_mock/requests").status == 204)
            #expect(await mock.recordedRequests().isEmpty)
            _ = try await Wire.ollama.chat(mock, "three")
            await mock.clearRecordedRequests()
            #expect(await mock.recordedRequests().isEmpty)
        }
    }

    @Test func configuredKeysAreRequired() async throws {
        let configuration = MockUpstreamConfiguration(openAIKey: "sk-o", anthropicKey: "sk-a", geminiKey: "g")
        try await withMock(configuration) { mock in
            let body: [String: Any] = ["model": "m", "max_tokens": 8, "messages": [user("hi")]]
            let openAIMissing = try await mock.openAI(body)
            #expect(openAIMissing.status == 401)
            #expect(openAIMissing.object[object: "error"][string: "code"] == "invalid_api_key")
            #expect(try await mock.openAI(body, headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await mock.openAI(body, headers: [("Authorization", "Bearer sk-o")]).status == 200)

            let anthropicWrong = try await mock.anthropic(body, headers: [("anthropic-version", "2023-06-01"), ("x-api-key", "nope")])
            #expect(anthropicWrong.status == 401)
            #expect(anthropicWrong.object[object: "error"][string: "type"] == "authentication_error")
            #expect(try await mock.anthropic(body, headers: [("anthropic-version", "2023-06-01"), ("x-api-key", "sk-a")]).status == 200)
            // Ollama has no keys.
            #expect(try await mock.ollama(["model": "m", "stream": false, "messages": [user("hi")]]).status == 200)
        }
    }

    @Test func delayHoldsTheHeaders() async throws {
        try await withMock { mock in
            let clock = ContinuousClock()
            let start = clock.now
            let reply = try await Wire.openai.chat(mock, "[[delay: 300]]")
            #expect(reply.status == 200)
            #expect(clock.now - start >= .milliseconds(300))
        }
    }

    @Test func chunkDelayPacesTheStream() async throws {
        try await withMock(MockUpstreamConfiguration(defaultChunkDelayMs: 0)) { mock in
            let clock = ContinuousClock()
            let start = clock.now
            // "a b c" → role chunk, 3 deltas, finish, [DONE]: at least 5 pauses of 50 ms.
            let reply = try await Wire.openai.chat(mock, "[[reply: a b c]] [[chunk-delay: 50]]", stream: true)
            #expect(reply.dataLines.last == "[DONE]")
            #expect(clock.now - start >= .milliseconds(250))
        }
    }

    @Test(arguments: Wire.allCases)
    func disconnectMidStream(_ wire: Wire) async throws {
        try await withMock { mock in
            var request = HTTPClientRequest(url: mock.baseURL + Self.streamPath(wire))
            request.method = .POST
            request.headers.add(name: "anthropic-version", value: "2023-06-01")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: Self.streamBody(wire, "[[disconnect-after: 2]]"))))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            var received = ""
            await #expect(throws: (any Error).self) {
                for try await buffer in response.body { received += String(buffer: buffer) }
            }
            #expect(!received.contains("[DONE]"))
            #expect(!received.contains("message_stop"))
            #expect(!received.contains("\"done\":true"))
        }
    }

    @Test func disconnectMidBody() async throws {
        try await withMock { mock in
            await #expect(throws: (any Error).self) {
                _ = try await Wire.openai.chat(mock, "[[disconnect-after: 1]]")
            }
        }
    }

    @Test(arguments: Wire.allCases)
    func malformedBodies(_ wire: Wire) async throws {
        try await withMock { mock in
            let plain = try await wire.chat(mock, "[[malformed]]")
            #expect(plain.status == 200)
            #expect((try? JSONSerialization.jsonObject(with: plain.body)) == nil)
            let stream = try await wire.chat(mock, "[[malformed]]", stream: true)
            let payloads = wire == .ollama ? stream.text.split(separator: "\n").map(String.init) : stream.dataLines
            #expect(payloads.contains { MockReply.parse($0) == nil && $0 != "[DONE]" })
        }
    }

    @Test func hangEndsWhenTheClientGivesUpAndStopIsPrompt() async throws {
        let mock = try await MockUpstream.start(logger: quietLogger)
        await #expect(throws: (any Error).self) {
            var request = HTTPClientRequest(url: mock.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["model": "m", "messages": [user("[[hang]]")]])))
            _ = try await HTTPClient.shared.execute(request, timeout: .milliseconds(300))
        }
        // A request still hanging must not hold up stop().
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cut short by the shutdown, it must not turn into a normal answer.
                let reply = try? await Wire.openai.chat(mock, "[[hang]]")
                #expect(reply?.status != 200)
            }
            try await Task.sleep(for: .milliseconds(100))
            let clock = ContinuousClock()
            let start = clock.now
            await mock.stop()
            #expect(clock.now - start < .seconds(30))
            try await group.waitForAll()
        }
    }

    @Test func stopClosesThePort() async throws {
        let mock = try await MockUpstream.start(logger: quietLogger)
        #expect(mock.port > 0)
        #expect(mock.baseURL == "http://127.0.0.1:\(mock.port)")
        #expect(try await Wire.openai.chat(mock, "hi").status == 200)
        await mock.stop()
        await #expect(throws: (any Error).self) {
            _ = try await mock.send(.GET, "/v1/models", timeout: .seconds(5))
        }
    }

    @Test func startFailsOnABusyPort() async throws {
        try await withMock { first in
            await #expect(throws: (any Error).self) {
                let second = try await MockUpstream.start(MockUpstreamConfiguration(port: first.port), logger: quietLogger)
                await second.stop()
            }
        }
    }

    static func streamPath(_ wire: Wire) -> String {
        switch wire {
        case .openai: return "/v1/chat/completions"
        case .anthropic: return "/v1/messages"
        case .gemini: return "/v1beta/models/g:streamGenerateContent?alt=sse"
        case .ollama: return "/api/chat"
        }
    }

    static func streamBody(_ wire: Wire, _ text: String) -> [String: Any] {
        switch wire {
        case .gemini: return ["contents": [["role": "user", "parts": [["text": text]]]]]
        default: return ["model": "m", "stream": true, "max_tokens": 64, "messages": [user(text)]]
        }
    }
}

/// `replayStreams` (the load benchmarks' mock): a streamed answer asked for again is the same bytes, without
/// rendering it again; another answer, or the same one in another protocol, is rendered for itself.
@Suite("Replayed streams")
struct MockReplayTests {
    @Test(arguments: Wire.allCases)
    func anAnswerAskedForAgainIsTheSameBytesAndAnotherIsItsOwn(_ wire: Wire) async throws {
        try await withMock(MockUpstreamConfiguration(replayStreams: true)) { mock in
            let first = try await wire.chat(mock, "[[reply: a b c]]", stream: true)
            let again = try await wire.chat(mock, "[[reply: a b c]]", stream: true)
            let other = try await wire.chat(mock, "[[reply: x y]]", stream: true)
            #expect(first.status == 200 && again.status == 200 && other.status == 200)
            #expect(first.text == again.text && first.text.contains("a") && !first.text.isEmpty)
            #expect(other.text != first.text && other.text.contains("x"))
            // Without the option every stream is rendered for itself: its own id.
        }
        try await withMock { mock in
            let first = try await wire.chat(mock, "[[reply: a b c]]", stream: true)
            let again = try await wire.chat(mock, "[[reply: a b c]]", stream: true)
            if wire == .openai || wire == .anthropic { #expect(first.text != again.text) }
        }
    }
}
