import AsyncHTTPClient
import Foundation
import Gateway
import Guardrails
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Server
import Storage
import SwitchyardCore
import SwitchyardTesting

/// A real Switchyard server on port 0 in front of a real mock upstream speaking all four protocols.
enum LiveHarness {
    static let providerModels = ["m-openai", "m-anthropic", "m-gemini", "m-ollama"]
    static let upstreamSecrets = ["sk-upstream-secret-openai", "sk-upstream-secret-anthropic", "upstream-secret-gemini"]
    static let clientKey = "sk-switchyard-test"

    /// `timeouts` overrides `timeoutMs` per provider (`up-openai`, `up-anthropic`, `up-gemini`, `up-ollama`), so a
    /// test can make the faulty deployments time out fast while the healthy ones keep a margin for a loaded machine.
    static func configuration(
        mockURL: String, extra: String = "", timeoutMs: Int = 5000, timeouts: [String: Int] = [:], fastPath: Bool = true
    ) throws -> SwitchyardConfiguration {
        func timeout(_ provider: String) -> Int { timeouts[provider] ?? timeoutMs }
        let yaml = """
            server: {max_body_bytes: 65536, fast_path: \(fastPath)}
            storage: {sqlite: ":memory:"}
            providers:
              - {name: up-openai, kind: openai, base_url: "\(mockURL)/v1", api_key: sk-upstream-secret-openai, timeout_ms: \(timeout("up-openai"))}
              - {name: up-anthropic, kind: anthropic, base_url: "\(mockURL)", api_key: sk-upstream-secret-anthropic, timeout_ms: \(timeout("up-anthropic"))}
              - {name: up-gemini, kind: gemini, base_url: "\(mockURL)", api_key: upstream-secret-gemini, timeout_ms: \(timeout("up-gemini"))}
              - {name: up-ollama, kind: ollama, base_url: "\(mockURL)", timeout_ms: \(timeout("up-ollama"))}
              - {name: nowhere, kind: openai, base_url: "http://127.0.0.1:1/v1"}
            models:
              - {name: m-openai, provider: up-openai, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60, cached_input: 0.075}, capabilities: [tools, json, vision]}
              - {name: m-anthropic, provider: up-anthropic, upstream: claude-3-5-haiku-latest, price: {input: 0.8, output: 4.0, cached_input: 0.08}, capabilities: [tools, json, vision]}
              - {name: m-gemini, provider: up-gemini, upstream: gemini-2.0-flash, price: {input: 0.1, output: 0.4}, capabilities: [tools, json, vision]}
              - {name: m-ollama, provider: up-ollama, upstream: llama3.2, price: {input: 0, output: 0}, capabilities: [tools, json]}
              - {name: m-nowhere, provider: nowhere, price: {input: 1, output: 1}}
              - {name: m-notools, provider: up-openai, price: {input: 1, output: 1}, capabilities: [json]}
              - {name: e-openai, provider: up-openai, upstream: text-embedding-3-small, type: embedding, price: {input: 0.02}}
              - {name: e-gemini, provider: up-gemini, upstream: text-embedding-004, type: embedding, price: {input: 0.01}}
              - {name: e-ollama, provider: up-ollama, upstream: nomic-embed-text, type: embedding, price: {input: 0}}
              - {name: d-openai, provider: up-openai, upstream: dep-a, price: {input: 0.1, output: 0.1}}
              - {name: d-anthropic, provider: up-anthropic, upstream: dep-b, price: {input: 0.2, output: 0.2}}
              - {name: d-gemini, provider: up-gemini, upstream: dep-c, price: {input: 0.3, output: 0.3}}
              - {name: d-ollama, provider: up-ollama, upstream: dep-d, price: {input: 0.4, output: 0.4}}
              - {name: m-capped, provider: up-anthropic, upstream: claude-capped, price: {input: 1, output: 1}, context_window: 200000, max_output_tokens: 8192}
            auth: {keys: [\(clientKey), {key: sk-limited, name: limited, models: ["m-openai"]}, {key: sk-time-only, name: time-only, tools: ["time__*"]}]}
            \(extra)
            """
        return try ConfigurationLoader.parse(yaml, source: "<test>")
    }

    /// Runs `body` with a live gateway client and the mock behind it.
    static func run(
        timeoutMs: Int = 5000, timeouts: [String: Int] = [:], extra: String = "", fastPath: Bool = true, clock: (@Sendable () -> ContinuousClock.Instant)? = nil,
        embedder: (@Sendable (String, EmbeddingPrecision) throws -> any TextEmbedder)? = nil,
        guardDetector: (any GuardDetector)? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, MockUpstream, Gateway) async throws -> Void
    ) async throws {
        let mock = try await MockUpstream.start(
            MockUpstreamConfiguration(
                openAIKey: "sk-upstream-secret-openai", anthropicKey: "sk-upstream-secret-anthropic",
                geminiKey: "upstream-secret-gemini"))
        let clients = Gateway.makeUpstreamClients()
        do {
            let configuration = try configuration(mockURL: mock.baseURL, extra: extra, timeoutMs: timeoutMs, timeouts: timeouts, fastPath: fastPath)
            let gateway = Gateway(
                configuration: configuration, upstreamClients: clients,
                requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")), localEmbedderFactory: embedder,
                clock: clock ?? { .now }, guardDetector: guardDetector)
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in
                try await body(client, mock, gateway)
            }
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }
}

extension TestClientProtocol {
    /// POSTs JSON with the test key.
    func post(_ path: String, json: String, key: String? = LiveHarness.clientKey, headers extra: HTTPFields = [:]) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        for field in extra { headers.append(field) }
        return try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func get(_ path: String, key: String? = LiveHarness.clientKey) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: path, method: .get, headers: headers)
    }
}

extension TestResponse {
    var json: JSONValue? { JSONValue.parse(Data(body.readableBytesView)) }
    var text: String { String(buffer: body) }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }

    /// `data:` payloads of an SSE body (with their `event:` names).
    var events: [(event: String?, data: String)] {
        text.components(separatedBy: "\n\n").compactMap { block in
            var event: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            return data.isEmpty ? nil : (event, data.joined(separator: "\n"))
        }
    }
}

/// Builds chat bodies without string juggling in each test.
enum Body {
    static func chat(
        _ model: String, _ prompt: String, system: String? = nil, stream: Bool = false, extra: [String: JSONValue] = [:]
    ) -> String {
        var messages: [JSONValue] = []
        if let system { messages.append(["role": "system", "content": .string(system)]) }
        messages.append(["role": "user", "content": .string(prompt)])
        var object: [String: JSONValue] = ["model": .string(model), "messages": .array(messages)]
        if stream {
            object["stream"] = true
            object["stream_options"] = ["include_usage": true]
        }
        for (key, value) in extra { object[key] = value }
        return JSONValue.object(object).jsonString()
    }

    static func messages(_ model: String, _ prompt: String, system: String? = nil, stream: Bool = false, extra: [String: JSONValue] = [:])
        -> String
    {
        var object: [String: JSONValue] = [
            "model": .string(model), "max_tokens": 200, "messages": [["role": "user", "content": .string(prompt)]],
        ]
        if let system { object["system"] = .string(system) }
        if stream { object["stream"] = true }
        for (key, value) in extra { object[key] = value }
        return JSONValue.object(object).jsonString()
    }

    static let weatherTool: JSONValue = [
        "type": "function",
        "function": [
            "name": "get_weather", "description": "Weather for a city",
            "parameters": ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]],
        ],
    ]
}
