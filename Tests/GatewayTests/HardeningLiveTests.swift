import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

import Gateway
@testable import Providers
import SwitchyardCore
import SwitchyardTesting
@testable import Tools

/// Issue 16 through the live server: hostile values get 4xx in the client's envelope without an
/// upstream call, breakers never turn a partial outage into a total one, secrets stay put.
@Suite("Hardening through the live gateway")
struct HardeningLiveTests {
    static let flaky = """
        groups:
          - {name: flaky, deployments: [d-openai], retry: {attempts: 3, backoff_ms: 1, max_backoff_ms: 10}}
        routing: {circuit_breaker: {failures: 2, failure_rate: 0.5, min_calls: 4, cooldown_s: 30}}
        """

    /// A deployment that fails every other call must serve every request: its breaker opens, but with
    /// no other deployment left the gateway tries it anyway (panic) instead of refusing for 30 s.
    @Test func aFlakySingleDeploymentServesEveryRequest() async throws {
        try await LiveHarness.run(extra: Self.flaky) { client, mock, gateway in
            var served = 0
            for index in 0..<40 {
                if index.isMultiple(of: 2) { await mock.setFault(model: "dep-a", fault: "error: 503", count: 1) }
                let response = try await client.post("/v1/chat/completions", json: Body.chat("flaky", "hi \(index)", stream: index % 4 == 1))
                if response.status == .ok { served += 1 }
            }
            #expect(served == 40)
            // The breaker did open along the way: this was panic routing, not a breaker that never tripped.
            let log = try await client.get("/v1/switchyard/requests?limit=40")
            let notes: [JSONValue] = Array((log.json?["data"]?.arrayValue ?? []).compactMap { $0["route"]?["notes"]?.arrayValue }.joined())
            #expect(notes.contains { $0.stringValue?.contains("tried anyway (panic)") == true || $0.stringValue?.contains("cool-down ends first") == true })
            _ = gateway
        }
    }

    @Test(arguments: [
        (#"{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"switchyard":{"retrieval":{"collection":"x","top_k":1e300}}}"#, "switchyard.retrieval.top_k"),
        (#"{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"max_tokens":1e300}"#, "max_tokens"),
        (#"{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-1}"#, "max_completion_tokens"),
        (#"{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"n":1e19}"#, "n"),
        (#"{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"temperature":1e300}"#, "temperature"),
        (#"{"model":"m-openai","messages":[{"role":"user","content":[{"type":"hologram"}]}]}"#, "messages[0].content[0].type"),
        (#"{"model":"m-openai","messages":[{"role":"user","content":"hi"}],"switchyard":{"route":{"max_latency_ms":-5}}}"#, "switchyard.route.max_latency_ms"),
    ])
    func hostileValuesGet400sNamingTheFieldWithNoUpstreamCall(body: String, field: String) async throws {
        try await LiveHarness.run { client, mock, _ in
            let response = try await client.post("/v1/chat/completions", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.json?["error"]?["param"]?.stringValue == field, "\(response.text)")
            #expect(response.json?["error"]?["message"]?.stringValue?.contains(field) == true)
            #expect(await mock.recordedRequests().isEmpty)
        }
    }

    @Test func anthropicClientsGetTheirOwnEnvelopeForHostileValues() async throws {
        try await LiveHarness.run { client, mock, _ in
            for body in [
                #"{"model":"m-openai","max_tokens":1e300,"messages":[{"role":"user","content":"hi"}]}"#,
                #"{"model":"m-openai","max_tokens":10,"messages":[{"role":"user","content":[{"type":"hologram"}]}]}"#,
                #"{"model":"m-openai","max_tokens":10,"top_k":-1,"messages":[{"role":"user","content":"hi"}]}"#,
            ] {
                let response = try await client.post("/v1/messages", json: body, headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"])
                #expect(response.status == .badRequest, "\(response.text)")
                #expect(response.json?["type"] == "error" && response.json?["error"]?["type"] == "invalid_request_error")
            }
            #expect(await mock.recordedRequests().isEmpty)
        }
    }

    /// A huge model name gets a short 404, and no header carries it back (the harness caps bodies at
    /// 64 KiB; the hostile suite sends 1 MB through the default limit).
    @Test func aHugeModelNameGetsAShortNotFound() async throws {
        try await LiveHarness.run { client, _, _ in
            let name = String(repeating: "m", count: 60_000)
            let response = try await client.post("/v1/chat/completions", json: Body.chat(name, "hi"))
            #expect(response.status == .notFound)
            #expect(response.body.readableBytes < 2048)
            #expect(response.header("x-switchyard-model") == nil)
            #expect(response.json?["error"]?["code"] == "model_not_found")
        }
    }

    @Test func aRateLimitStormWithAbsurdRetryAfterIsClampedNotWaitedOut() async throws {
        try await LiveHarness.run(extra: Self.flaky) { client, mock, _ in
            for value in ["inf", "1e17", "1e400", "-5", "Wed, 21 Oct 2099 07:28:00 GMT"] {
                await mock.setFault(model: "dep-a", fault: "error: 429 retry-after=\(value)", count: 2)
                let started = ContinuousClock.now
                let response = try await client.post("/v1/chat/completions", json: Body.chat("flaky", "hi \(value)"))
                #expect(response.status == .ok, "\(value): \(response.text)")
                #expect(ContinuousClock.now - started < .seconds(30), "\(value) was waited out")  // clamped: 10 ms, not 3600 s
            }
            // Passed on to a client only as checked delta-seconds.
            await mock.setFault(model: "dep-a", fault: "error: 429 retry-after=1e17", count: 1)
            let limited = try await client.post("/v1/chat/completions", json: Body.chat("d-openai", "x"))
            #expect(limited.status == .tooManyRequests && limited.header("retry-after") == "3600")
        }
    }
}

@Suite("Secrets and buffers")
struct SecretsAndBuffersTests {
    @Test func mcpChildrenGetAMinimalEnvironmentNotTheGatewaysSecrets() {
        let parent = ["PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "OPENAI_API_KEY": "sk-secret", "AWS_SECRET_ACCESS_KEY": "x", "TZ": "UTC"]
        let child = ProcessTransport.childEnvironment(configured: ["TZ": "Europe/Oslo", "TOKEN": "mine"], parent: parent)
        #expect(child == ["PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "TZ": "Europe/Oslo", "TOKEN": "mine"])
    }

    @Test func keysInHeadersAndQueriesAreRedactedLikeAPIKeys() {
        let configuration = ProviderConfiguration(
            name: "p", kind: .openai, baseURL: "http://x", apiKey: "sk-main-123",
            headers: ["Authorization": "Bearer sk-header-456", "x-portkey-api-key": "pk-789-abcdef", "x-region": "eu"],
            query: ["key": "query-secret-000"])
        let body = ByteBuffer(string: #"{"error":{"message":"bad keys: sk-main-123 sk-header-456 pk-789-abcdef query-secret-000 eu"}}"#)
        let error = UpstreamErrors.status(401, body: body, headers: [:], configuration: configuration)
        for secret in ["sk-main-123", "sk-header-456", "pk-789-abcdef", "query-secret-000"] {
            #expect(!error.message.contains(secret), "\(secret) leaked: \(error.message)")
        }
        #expect(error.message.contains("eu"))  // short header values are not secrets
    }

    @Test func theMCPLineSplitterDropsOverlongLinesInsteadOfGrowing() {
        let splitter = LineSplitter(limit: 16)
        #expect(splitter.feed(Data("short\n".utf8)) == [Data("short".utf8)])
        // An endless line: dropped as it passes the limit, and the next line still arrives.
        #expect(splitter.feed(Data(String(repeating: "x", count: 40).utf8)).isEmpty)
        #expect(splitter.feed(Data(String(repeating: "y", count: 40).utf8)).isEmpty)
        #expect(splitter.feed(Data("z\nnext\r\n".utf8)) == [Data("next".utf8)])
        #expect(splitter.takeDiscarded() && !splitter.takeDiscarded())
        #expect(splitter.feed(Data((String(repeating: "a", count: 17) + "\nok\n").utf8)) == [Data("ok".utf8)])
    }

    @Test func streamedToolCallIndexesFromUpstreamsCannotTrapOrAllocate() {
        var accumulator = ChatStreamAccumulator()
        for index in [0, 1_000_000_000, 0, 7, 1_000_000_000] {
            accumulator.add(ChatChunk(id: "c", created: 0, model: "m", choices: [
                .init(delta: .init(toolCalls: [ToolCallDelta(index: index, id: "id\(index)", function: .init(name: "f\(index)", arguments: "a"))]))
            ]))
        }
        #expect(accumulator.toolCalls.map(\.id) == ["id0", "id1000000000", "id7"])
        #expect(accumulator.toolCalls[1].function.arguments == "aa")
        // Decoding refuses negative and absurd indexes (a 502 for the stream, not a trap).
        for bad in ["-1", "1e300", "1000000000"] {
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(ToolCallDelta.self, from: Data(#"{"index": \#(bad)}"#.utf8))
            }
        }
    }

    @Test func implausibleUpstreamUsageIsUntrusted() throws {
        let decode = { (text: String) in try JSONDecoder().decode(ChatResponse.self, from: Data(text.utf8)) }
        let choices = #""choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]"#
        for usage in [#"{"prompt_tokens":1e300,"completion_tokens":1}"#, #"{"prompt_tokens":-5,"completion_tokens":1}"#, #"{"prompt_tokens":"12"}"#] {
            #expect(try decode("{\(choices),\"usage\":\(usage)}").usage == nil, "\(usage)")
        }
        #expect(try decode("{\(choices),\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}").usage == Usage(promptTokens: 3, completionTokens: 2))
        #expect(try decode("{\(choices),\"created\":1e300}").created == 0)
        var reader = AnthropicStreamReader(usesJSONTool: false)
        _ = try reader.read(event: nil, data: #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":1e300}}}"#)
        _ = try reader.read(event: nil, data: #"{"type":"content_block_delta","index":1e300,"delta":{"type":"text_delta","text":"x"}}"#)
        #expect(try reader.read(event: nil, data: #"{"type":"message_stop"}"#).isEmpty && reader.usageBroken)
    }
}
