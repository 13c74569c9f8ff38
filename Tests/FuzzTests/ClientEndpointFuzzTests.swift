import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PropertyBased
import Server
import Storage
import SwitchyardCore
import SwitchyardTesting
import Testing

/// Mutated requests at every endpoint, through the real router and pipeline, with the mock upstream
/// behind it. Whatever a client sends: no crash, no hang, never a 500, no 5xx unless an upstream was
/// actually called, and every error in the endpoint's own envelope.
@Suite("Fuzz: client requests at every endpoint", .serialized)
struct ClientEndpointFuzzTests {
    struct Endpoint: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var envelope: Envelope
        var seeds: [JSONValue]
        var headers: HTTPFields = [:]
    }

    enum Envelope: Sendable { case openai, anthropic, jsonRPC }

    static let endpoints: [Endpoint] = [
        Endpoint(method: .post, path: "/v1/chat/completions", envelope: .openai, seeds: [
            ["model": "m-openai", "messages": [["role": "user", "content": "hi"]], "max_tokens": 5, "temperature": 0.2],
            ["model": "m-anthropic", "messages": [["role": "system", "content": "s"], ["role": "user", "content": [["type": "text", "text": "x"]]]], "stream": true, "stream_options": ["include_usage": true]],
            ["model": "m-gemini", "messages": [["role": "user", "content": "q"]], "tools": [["type": "function", "function": ["name": "f", "parameters": ["type": "object"]]]], "tool_choice": "auto"],
            ["model": "m-ollama", "messages": [["role": "user", "content": "q"], ["role": "assistant", "content": .null, "tool_calls": [["id": "c1", "type": "function", "function": ["name": "f", "arguments": "{}"]]]], ["role": "tool", "tool_call_id": "c1", "content": "42"]], "n": 1, "seed": 7],
            ["model": "m-openai", "messages": [["role": "user", "content": "q"]], "response_format": ["type": "json_schema", "json_schema": ["name": "x", "schema": ["type": "object"]]]],
            ["model": "m-openai", "messages": [["role": "user", "content": "q"]], "switchyard": ["route": ["max_cost_usd": 1, "only": ["m-*"]], "retrieval": ["collection": "docs", "top_k": 3, "max_context_tokens": 500, "weights": [0.7, 0.3]]]],
            ["model": "fast", "messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA"]]]]]],
        ]),
        Endpoint(method: .post, path: "/v1/messages", envelope: .anthropic, seeds: [
            ["model": "m-openai", "max_tokens": 16, "messages": [["role": "user", "content": "hi"]], "temperature": 0.5, "top_k": 3],
            ["model": "m-anthropic", "max_tokens": 16, "stream": true, "system": [["type": "text", "text": "s"]], "messages": [["role": "user", "content": [["type": "text", "text": "x"], ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "AAAA"]]]]]],
            ["model": "m-gemini", "max_tokens": 16, "messages": [["role": "user", "content": "a"], ["role": "assistant", "content": [["type": "tool_use", "id": "t1", "name": "f", "input": ["a": 1]]]], ["role": "user", "content": [["type": "tool_result", "tool_use_id": "t1", "content": "ok"]]]], "tools": [["name": "f", "input_schema": ["type": "object"]]], "thinking": ["type": "enabled", "budget_tokens": 2048]],
        ], headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"]),
        Endpoint(method: .post, path: "/v1/embeddings", envelope: .openai, seeds: [
            ["model": "e-openai", "input": "hello"], ["model": "e-gemini", "input": ["a", "b"], "dimensions": 8], ["model": "e-ollama", "input": ["x"], "encoding_format": "base64"],
            ["model": "e-openai", "input": [[15339, 1917], [42]]], ["model": "e-openai", "input": [15339, 1917]],
        ]),
        Endpoint(method: .post, path: "/v1/completions", envelope: .openai, seeds: [
            ["model": "m-openai", "prompt": "Once upon", "max_tokens": 5, "temperature": 0.2, "stop": ["\n"], "echo": true],
            ["model": "m-anthropic", "prompt": ["a", "b"], "n": 1, "suffix": .null, "logprobs": .null],
            ["model": "m-gemini", "prompt": "x", "stream": true, "stream_options": ["include_usage": true]],
        ]),
        Endpoint(method: .post, path: "/v1/messages/count_tokens", envelope: .anthropic, seeds: [
            ["model": "m-anthropic", "system": "s", "messages": [["role": "user", "content": "hi"]]],
            ["model": "m-openai", "messages": [["role": "user", "content": [["type": "text", "text": "x"]]]], "tools": [["name": "f", "input_schema": ["type": "object"]]]],
        ], headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"]),
        Endpoint(method: .post, path: "/v1/switchyard/collections/docs/search", envelope: .openai, seeds: [
            ["query": "wifi", "top_k": 3, "mode": "hybrid", "fusion": "weighted", "weights": [0.5, 0.5], "mmr": 0.5, "ef_search": 64, "filter": ["year": ["gte": 2020]]],
        ]),
        Endpoint(method: .post, path: "/v1/switchyard/collections/docs/documents", envelope: .openai, seeds: [
            ["documents": [["id": "d1", "text": "The wifi password is swordfish.", "title": "t", "metadata": ["year": 2021], "allowed": ["hr"], "format": "markdown"]]],
        ]),
        Endpoint(method: .post, path: "/v1/switchyard/collections", envelope: .openai, seeds: [["name": "fz", "embedding_model": "e-openai"]]),
        Endpoint(method: .post, path: "/v1/switchyard/feedback", envelope: .openai, seeds: [
            ["request_id": "req_000000000000000000000000", "metric": "helpful", "value": true, "comment": "c"],
            ["episode_id": "ep-1", "metric": "rating:stars", "value": 4.5],
        ]),
        Endpoint(method: .post, path: "/v1/chat/completions", envelope: .openai, seeds: [
            ["model": "ab", "user": "u-1", "messages": [["role": "user", "content": "hi"]]],
        ], headers: [HTTPField.Name("x-switchyard-episode-id")!: "ep-1"]),
        Endpoint(method: .post, path: "/mcp", envelope: .jsonRPC, seeds: [
            ["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "f", "version": "1"]]],
            ["jsonrpc": "2.0", "id": 2, "method": "tools/list"],
            ["jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": ["name": "chat", "arguments": ["model": "m-openai", "prompt": "hi", "max_tokens": 5]]],
            ["jsonrpc": "2.0", "id": "s", "method": "tools/call", "params": ["name": "search_collection", "arguments": ["collection": "docs", "query": "wifi", "top_k": 2]]],
        ], headers: [.accept: "application/json, text/event-stream", HTTPField.Name("MCP-Protocol-Version")!: "2025-06-18"]),
    ]

    /// Requests with query strings and path parameters.
    static let getPaths = [
        "/v1/switchyard/requests?limit=", "/v1/switchyard/requests/", "/v1/switchyard/collections/", "/v1/models?x=", "/v1/models/",
        "/v1/switchyard/experiments/",
    ]

    static func configuration(mockURL: String) throws -> SwitchyardConfiguration {
        try ConfigurationLoader.parse(
            """
            server: {max_body_bytes: 4194304}
            storage: {sqlite: ":memory:"}
            providers:
              - {name: up-openai, kind: openai, base_url: "\(mockURL)/v1", timeout_ms: 5000}
              - {name: up-anthropic, kind: anthropic, base_url: "\(mockURL)", timeout_ms: 5000}
              - {name: up-gemini, kind: gemini, base_url: "\(mockURL)", timeout_ms: 5000}
              - {name: up-ollama, kind: ollama, base_url: "\(mockURL)", timeout_ms: 5000}
            models:
              - {name: m-openai, provider: up-openai, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6}, context_window: 128000}
              - {name: m-anthropic, provider: up-anthropic, upstream: claude-3-5-haiku-latest, price: {input: 0.8, output: 4}}
              - {name: m-gemini, provider: up-gemini, upstream: gemini-2.0-flash, price: {input: 0.1, output: 0.4}}
              - {name: m-ollama, provider: up-ollama, upstream: llama3.2, price: {input: 0, output: 0}}
              - {name: e-openai, provider: up-openai, upstream: text-embedding-3-small, type: embedding, price: {input: 0.02}}
              - {name: e-gemini, provider: up-gemini, upstream: text-embedding-004, type: embedding, price: {input: 0.01}}
              - {name: e-ollama, provider: up-ollama, upstream: nomic-embed-text, type: embedding, price: {input: 0}}
            groups:
              - {name: fast, strategy: least-latency, deployments: [m-openai, m-gemini], fallbacks: [m-anthropic], retry: {attempts: 2, backoff_ms: 1, max_backoff_ms: 5}}
            cache: {exact: true}
            retrieval: {embedding_model: e-openai, sync_s: 0}
            request_log: {store_prompts: true}
            experiments:
              - {name: ab, variants: [{name: a, target: m-openai}, {name: b, target: fast, weight: 2}]}
            """, source: "<fuzz>")
    }

    /// Runs `body` with an in-process router over a gateway whose upstream is the mock.
    static func withRouter(_ body: @escaping @Sendable (any TestClientProtocol, MockUpstream) async throws -> Void) async throws {
        let mock = try await MockUpstream.start()
        let clients = Gateway.makeUpstreamClients()
        do {
            let gateway = Gateway(
                configuration: try configuration(mockURL: mock.baseURL), upstreamClients: clients,
                requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")))
            _ = try await gateway.createCollection(name: "docs", embeddingModel: "e-openai", caller: .anonymous)
            _ = try await gateway.upsertDocuments(
                [RetrievalDocument(id: "a", text: "The wifi password is swordfish.", metadata: ["year": 2021])], into: "docs", caller: .anonymous)
            let app = Application(router: SwitchyardServer.makeRouter(gateway: gateway, logger: .init(label: "fuzz")))
            try await app.test(.router) { client in try await body(client, mock) }
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }

    /// What every answer must satisfy. `upstreamCalled` allows a 502/503/504 (the mock's answer to a
    /// request it was sent); a 500 is always a gateway bug.
    static func check(_ response: TestResponse, endpoint: Endpoint, upstreamCalled: Bool, input: String) {
        let status = Int(response.status.code)
        #expect(status != 500, "500 for \(input.prefix(400)): \(String(buffer: response.body).prefix(400))")
        #expect(status < 500 || upstreamCalled, "\(status) without an upstream call for \(input.prefix(400)): \(String(buffer: response.body).prefix(300))")
        guard status >= 400 else { return }
        let body = JSONValue.parse(Data(response.body.readableBytesView))
        switch endpoint.envelope {
        case .openai:
            #expect(body?["error"]?["message"]?.stringValue?.isEmpty == false, "no OpenAI envelope: \(String(buffer: response.body).prefix(300))")
        case .anthropic:
            #expect(body?["type"] == "error" && body?["error"]?["message"]?.stringValue != nil, "no Anthropic envelope: \(String(buffer: response.body).prefix(300))")
        case .jsonRPC:
            #expect(body?["error"]?["message"]?.stringValue != nil, "no JSON-RPC error: \(String(buffer: response.body).prefix(300))")
        }
        // A short answer, whatever the input's size (no 1 MB name echoed back).
        #expect(
            response.body.readableBytes < 8192,
            "error body of \(response.body.readableBytes) bytes: \(String(buffer: response.body).prefix(300)) for \(input.prefix(300))")
    }

    static func send(_ client: any TestClientProtocol, _ endpoint: Endpoint, _ bytes: [UInt8], mock: MockUpstream) async throws {
        let before = await mock.recordedRequests().count
        var headers: HTTPFields = [.contentType: "application/json"]
        for field in endpoint.headers { headers.append(field) }
        let response = try await client.execute(uri: endpoint.path, method: endpoint.method, headers: headers, body: ByteBuffer(bytes: bytes))
        let after = await mock.recordedRequests().count
        FuzzStatistics.shared.count(endpoint.path, status: Int(response.status.code))
        check(response, endpoint: endpoint, upstreamCalled: after > before, input: String(decoding: bytes, as: UTF8.self))
    }

    @Test func mutatedRequestsAtEveryEndpoint() async throws {
        try await Self.withRouter { client, mock in
            var ran = 0
            await FuzzBudget.check { seed in
                var mutator = Mutator(seed: seed)
                let endpoint = mutator.pick(Self.endpoints)
                let json = mutator.mutate(mutator.pick(endpoint.seeds), times: 1 + mutator.int(2))
                try await Self.send(client, endpoint, mutator.text(json), mock: mock)
                if mutator.chance(5) { await mock.clearRecordedRequests() }
                ran += 1
            }
            #expect(ran > 0)
            FuzzStatistics.shared.report("client requests")
        }
    }

    @Test func hostileQueryStringsPathsAndHeaders() async throws {
        try await Self.withRouter { client, _ in
            await FuzzBudget.check { seed in
                var mutator = Mutator(seed: seed)
                let noise = mutator.pick(Mutator.extremeLiterals + Mutator.hostileStrings + [String(repeating: "9", count: 5000)])
                let escaped = noise.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                let response = try await client.execute(uri: mutator.pick(Self.getPaths) + escaped, method: .get)
                #expect(Int(response.status.code) < 500, "\(response.status) for \(noise.prefix(100))")
                // Route constraints and cache directives come in headers too.
                var headers: HTTPFields = [.contentType: "application/json"]
                headers[HTTPField.Name("x-switchyard-route")!] = mutator.pick([noise, #"{"max_cost_usd": \#(noise)}"#, #"{"only": [1e300]}"#])
                headers[HTTPField.Name("x-switchyard-cache")!] = noise
                let chat = try await client.execute(
                    uri: "/v1/chat/completions", method: .post, headers: headers,
                    body: ByteBuffer(string: #"{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}"#))
                #expect(Int(chat.status.code) != 500, "500 for header \(noise.prefix(100)): \(String(buffer: chat.body).prefix(300))")
            }
        }
    }
}
