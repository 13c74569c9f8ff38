import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PropertyBased
import Server
import Storage
import SwitchyardCore
import Synchronization
import Testing

/// Mutated upstream answers — bodies, streams, statuses and `retry-after` headers of all four
/// protocols — served by a scripted upstream over real HTTP, through the gateway's whole path
/// (provider adapter, stream framing, accounting, cache fill, the client's protocol). Whatever an
/// upstream sends: no crash, no 500, usage and cost always sane numbers.
@Suite("Fuzz: upstream answers of every protocol", .serialized)
struct UpstreamAnswerFuzzTests {
    /// What the scripted upstream answers next.
    struct Script: Sendable {
        var status = 200
        var headers: [(String, String)] = []
        var pieces: [[UInt8]] = []
    }

    /// A real HTTP server that answers every POST with the current script.
    final class ScriptedUpstream: Sendable {
        let script = Mutex(Script())
        let port = Mutex(0)

        func application() -> some ApplicationProtocol {
            let router = Router()
            router.post("**") { [self] _, _ -> Response in
                let current = script.withLock { $0 }
                var headers = HTTPFields()
                for (name, value) in current.headers {
                    if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
                }
                let pieces = current.pieces
                return Response(
                    status: HTTPResponse.Status(code: current.status), headers: headers,
                    body: ResponseBody { writer in
                        for piece in pieces { try await writer.write(ByteBuffer(bytes: piece)) }
                        try await writer.finish(nil)
                    })
            }
            return Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { [self] channel in port.withLock { $0 = channel.localAddress?.port ?? 0 } },
                logger: Logger(label: "fuzz.upstream"))
        }
    }

    enum Kind: String, CaseIterable, Sendable { case openai, anthropic, gemini, ollama }

    /// A correct answer of each protocol, the seed every mutation starts from.
    static func seedResponse(_ kind: Kind) -> JSONValue {
        switch kind {
        case .openai:
            return ["id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [["index": 0, "message": ["role": "assistant", "content": "hi", "tool_calls": [["id": "t", "type": "function", "function": ["name": "f", "arguments": "{}"]]]], "finish_reason": "stop"]], "usage": ["prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7, "prompt_tokens_details": ["cached_tokens": 1]]]
        case .anthropic:
            return ["id": "m", "type": "message", "role": "assistant", "model": "c", "content": [["type": "text", "text": "hi"], ["type": "tool_use", "id": "t", "name": "f", "input": ["a": 1]]], "stop_reason": "end_turn", "usage": ["input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 1]]
        case .gemini:
            return ["candidates": [["content": ["role": "model", "parts": [["text": "hi"], ["functionCall": ["name": "f", "args": ["a": 1]]]]], "finishReason": "STOP"]], "usageMetadata": ["promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 1], "modelVersion": "g"]
        case .ollama:
            return ["model": "l", "message": ["role": "assistant", "content": "hi", "tool_calls": [["function": ["name": "f", "arguments": ["a": 1]]]]], "done": true, "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 2]
        }
    }

    /// The events of a correct stream of each protocol.
    static func seedStream(_ kind: Kind) -> [JSONValue] {
        switch kind {
        case .openai:
            return [
                ["id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [["index": 0, "delta": ["role": "assistant", "content": "h"]]]],
                ["id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [["index": 0, "delta": ["tool_calls": [["index": 0, "id": "t", "function": ["name": "f", "arguments": "{}"]]]]]]],
                ["id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [["index": 0, "delta": [:], "finish_reason": "stop"]]],
                ["id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": ["prompt_tokens": 5, "completion_tokens": 2]],
            ]
        case .anthropic:
            return [
                ["type": "message_start", "message": ["id": "m", "model": "c", "usage": ["input_tokens": 5, "output_tokens": 1]]],
                ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]],
                ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": "hi"]],
                ["type": "content_block_start", "index": 1, "content_block": ["type": "tool_use", "id": "t", "name": "f"]],
                ["type": "content_block_delta", "index": 1, "delta": ["type": "input_json_delta", "partial_json": "{}"]],
                ["type": "message_delta", "delta": ["stop_reason": "end_turn"], "usage": ["output_tokens": 2]],
                ["type": "message_stop"],
            ]
        case .gemini:
            return [
                ["candidates": [["content": ["role": "model", "parts": [["text": "h"]]]]]],
                ["candidates": [["content": ["role": "model", "parts": [["text": "i"]]], "finishReason": "STOP"]], "usageMetadata": ["promptTokenCount": 5, "candidatesTokenCount": 2]],
            ]
        case .ollama:
            return [
                ["model": "l", "message": ["role": "assistant", "content": "h"], "done": false],
                ["model": "l", "message": ["role": "assistant", "content": "i"], "done": true, "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 2],
            ]
        }
    }

    /// The wire bytes of a stream: SSE for three protocols (with the `event:` lines Anthropic sends), NDJSON for Ollama.
    static func frame(_ kind: Kind, _ events: [[UInt8]], names: [String?]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (index, event) in events.enumerated() {
            switch kind {
            case .ollama:
                bytes += event + [0x0A]
            default:
                if let name = names[safe: index] ?? nil { bytes += Array("event: \(name)\n".utf8) }
                bytes += Array("data: ".utf8) + event + Array("\n\n".utf8)
            }
        }
        if kind == .openai { bytes += Array("data: [DONE]\n\n".utf8) }
        return bytes
    }

    static let hostileRetryAfter = ["inf", "1e17", "1e400", "-5", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "", "0", "2", "999999999999999999999"]

    static func configuration(upstream: Int) throws -> SwitchyardConfiguration {
        let base = "http://127.0.0.1:\(upstream)"
        return try ConfigurationLoader.parse(
            """
            storage: {sqlite: ":memory:"}
            providers:
              - {name: openai, kind: openai, base_url: "\(base)/v1", timeout_ms: 3000}
              - {name: anthropic, kind: anthropic, base_url: "\(base)", timeout_ms: 3000}
              - {name: gemini, kind: gemini, base_url: "\(base)", timeout_ms: 3000}
              - {name: ollama, kind: ollama, base_url: "\(base)", timeout_ms: 3000}
            models:
              - {name: openai, provider: openai, price: {input: 1, output: 2}}
              - {name: anthropic, provider: anthropic, price: {input: 1, output: 2}}
              - {name: gemini, provider: gemini, price: {input: 1, output: 2}}
              - {name: ollama, provider: ollama, price: {input: 1, output: 2}}
            groups:
              - {name: g-openai, deployments: [openai], retry: {attempts: 3, backoff_ms: 1, max_backoff_ms: 20}}
              - {name: g-anthropic, deployments: [anthropic], retry: {attempts: 3, backoff_ms: 1, max_backoff_ms: 20}}
              - {name: g-gemini, deployments: [gemini], retry: {attempts: 3, backoff_ms: 1, max_backoff_ms: 20}}
              - {name: g-ollama, deployments: [ollama], retry: {attempts: 3, backoff_ms: 1, max_backoff_ms: 20}}
            cache: {exact: true}
            """, source: "<fuzz>")
    }

    /// Runs `body` with an in-process router over a gateway whose four providers all point at a
    /// scripted upstream (real HTTP on a loopback port).
    static func withGateway(_ body: @escaping @Sendable (any TestClientProtocol, ScriptedUpstream) async throws -> Void) async throws {
        let upstream = ScriptedUpstream()
        let server = upstream.application()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.runService() }
            while upstream.port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let clients = Gateway.makeUpstreamClients()
            do {
                let gateway = Gateway(
                    configuration: try Self.configuration(upstream: upstream.port.withLock { $0 }), upstreamClients: clients,
                    requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")))
                let app = Application(router: SwitchyardServer.makeRouter(gateway: gateway, logger: .init(label: "fuzz")))
                try await app.test(.router) { client in try await body(client, upstream) }
            } catch {
                await clients.shutdown()
                group.cancelAll()
                throw error
            }
            await clients.shutdown()
            group.cancelAll()
        }
    }

    /// Scripts the upstream, sends one chat request for `model` and checks the answer.
    static func exchange(
        _ client: any TestClientProtocol, _ upstream: ScriptedUpstream, script: Script, model: String, stream: Bool, nonce: UInt64
    ) async throws -> TestResponse {
        upstream.script.withLock { $0 = script }
        // A unique prompt: a cache hit would not read the upstream's answer.
        let body = #"{"model":"\#(model)","stream":\#(stream),"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"q \#(nonce)"}]}"#
        let response = try await client.execute(
            uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
        check(response, stream: stream, upstreamStatus: script.status, description: "\(model) stream=\(stream) status=\(script.status)")
        return response
    }

    @Test func mutatedAnswersOfEveryProtocol() async throws {
        try await Self.withGateway { client, upstream in
            await FuzzBudget.check { seed in
                var mutator = Mutator(seed: seed)
                let kind = mutator.pick(Kind.allCases)
                let stream = mutator.chance(50)
                var script = Script()
                if mutator.chance(15) {
                    // An error status, perhaps with a hostile retry-after.
                    script.status = mutator.pick([429, 503, 500, 529, 400, 401, 404, 302, 199, 299, 600])
                    script.headers = [("retry-after", mutator.pick(Self.hostileRetryAfter))]
                    if mutator.chance(30) { script.headers.append(("retry-after-ms", mutator.pick(Self.hostileRetryAfter))) }
                    script.pieces = [mutator.text(mutator.mutate(["error": ["message": "x", "type": "rate_limit_error"]]))]
                } else if stream {
                    var events = Self.seedStream(kind)
                    for _ in 0..<(1 + mutator.int(2)) {
                        let at = mutator.int(events.count)
                        events[at] = mutator.mutate(events[at])
                    }
                    if mutator.chance(10) { events = Array(events.prefix(mutator.int(events.count))) }  // cut short
                    let names = events.map { $0["type"]?.stringValue }
                    var bytes = Self.frame(kind, events.map { mutator.text($0) }, names: kind == .anthropic ? names : [])
                    if mutator.chance(5) { bytes = Array(repeating: mutator.pick([0x00, 0x0A, 0x3A, 0xFF]), count: 10_000) + bytes }
                    script.headers = [("content-type", kind == .ollama ? "application/x-ndjson" : "text/event-stream")]
                    // Split at random points, as a network would.
                    var rest = bytes[...]
                    while !rest.isEmpty {
                        let size = 1 + mutator.int(max(1, rest.count))
                        script.pieces.append(Array(rest.prefix(size)))
                        rest = rest.dropFirst(size)
                    }
                } else {
                    script.headers = [("content-type", "application/json")]
                    script.pieces = [mutator.text(mutator.mutate(Self.seedResponse(kind), times: 1 + mutator.int(2)))]
                }
                let model = mutator.chance(30) ? "g-" + kind.rawValue : kind.rawValue
                let response = try await Self.exchange(client, upstream, script: script, model: model, stream: stream, nonce: seed)
                FuzzStatistics.shared.count("\(kind)\(stream ? " stream" : "")", status: Int(response.status.code))
            }
            FuzzStatistics.shared.report("upstream answers")
        }
    }

    /// Never a 500 of the gateway's own (an upstream's 500 is passed on as such); a 200 carries sane
    /// usage and cost, a stream ends with its usage chunk or an error event.
    static func check(_ response: TestResponse, stream: Bool, upstreamStatus: Int, description: String) {
        let status = Int(response.status.code)
        let text = String(buffer: response.body)
        #expect(status != 500 || upstreamStatus == 500, "500 for \(description): \(text.prefix(300))")
        guard status == 200 else {
            #expect(JSONValue.parse(Data(response.body.readableBytesView))?["error"]?["message"] != nil, "\(status) without an envelope: \(text.prefix(200))")
            return
        }
        if stream {
            let events = text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
            let last = events.last ?? ""
            #expect(last == "[DONE]" || JSONValue.parse(last)?["error"] != nil, "stream ended without [DONE] or an error event (\(description)): \(text.suffix(200))")
            for event in events where event != "[DONE]" {
                if let usage = JSONValue.parse(event)?["usage"], usage != .null { checkUsage(usage, switchyard: JSONValue.parse(event)?["switchyard"], description) }
            }
        } else {
            let json = JSONValue.parse(Data(response.body.readableBytesView))
            #expect(json?["choices"] != nil, "200 without choices (\(description)): \(text.prefix(200))")
            checkUsage(json?["usage"] ?? .null, switchyard: json?["switchyard"], description)
            let header = response.headers[HTTPField.Name("x-switchyard-cost-usd")!].flatMap(Double.init)
            #expect(header.map { $0.isFinite && $0 >= 0 } == true, "cost header \(String(describing: header)) (\(description))")
        }
    }

    static func checkUsage(_ usage: JSONValue, switchyard: JSONValue?, _ description: String) {
        for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            let count = usage[key]?.intValue ?? -1
            #expect(TokenCount.plausible.contains(count) || (key == "total_tokens" && (0...2 * TokenCount.maximum).contains(count)), "\(key) \(String(describing: usage[key])) (\(description))")
        }
        if let cost = switchyard?["cost_usd"]?.doubleValue { #expect(cost.isFinite && cost >= 0, "cost \(cost) (\(description))") }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
