import Foundation
import Testing

@testable import Gateway
import SwitchyardCore

@Suite("Configuration")
struct ConfigurationTests {
    let minimal = """
        providers:
          - {name: openai, kind: openai, base_url: "https://api.openai.com/v1", api_key: "${OPENAI_API_KEY}"}
        models:
          - name: gpt-4o-mini
            provider: openai
            price: {input: 0.15, output: 0.60}
        """

    func expectError(_ yaml: String, containing fragments: [String], environment: [String: String] = [:]) {
        do {
            _ = try ConfigurationLoader.parse(yaml, source: "test.yaml", environment: environment)
            Issue.record("expected a configuration error")
        } catch let error as SwitchyardError {
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) should contain \(fragment)")
            }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func readsTheDocumentedShape() throws {
        let yaml = """
            server: {host: 0.0.0.0, port: 4100, max_body_bytes: 2048}
            storage: {sqlite: /tmp/x.db}
            providers:
              - {name: openai, kind: openai, base_url: https://api.openai.com/v1, api_key: ${OPENAI_API_KEY}}
              - {name: claude, kind: anthropic, base_url: https://api.anthropic.com, api_key: ${ANTHROPIC_API_KEY}}
              - {name: gemini, kind: gemini, base_url: https://generativelanguage.googleapis.com, api_key: ${GEMINI_API_KEY}}
              - {name: local, kind: ollama, base_url: http://127.0.0.1:11434}
            models:
              - name: gpt-4o-mini          # what clients ask for
                provider: openai
                upstream: gpt-4o-mini-2024-07-18
                price: {input: 0.15, output: 0.60, cached_input: 0.075}
                context_window: 128000
                capabilities: [tools, json, vision]
                tags: [cheap]
              - {name: emb, type: embedding, provider: openai, upstream: text-embedding-3-small, price: {input: 0.02}}
            auth: {keys: [${SWITCHYARD_KEY:-}, {key: sk-2, name: team-b, tools: ["time__*"]}]}
            """
        let configuration = try ConfigurationLoader.parse(
            yaml, environment: ["OPENAI_API_KEY": "sk-openai", "SWITCHYARD_KEY": "sk-1"])
        #expect(configuration.server.host == "0.0.0.0" && configuration.server.port == 4100)
        #expect(configuration.server.maxBodyBytes == 2048)
        #expect(configuration.storage.sqlitePath == "/tmp/x.db")
        #expect(configuration.providers.map(\.kind) == [.openai, .anthropic, .gemini, .ollama])
        #expect(configuration.providers[0].apiKey == "sk-openai")
        #expect(configuration.providers[1].apiKey == nil)  // unset variable: no key, not an empty one
        let model = try #require(configuration.models.first)
        #expect(model.upstream == "gpt-4o-mini-2024-07-18")
        #expect(model.price == Price(input: 0.15, output: 0.60, cachedInput: 0.075))
        #expect(model.capabilities == [.tools, .json, .vision] && model.tags == ["cheap"])
        #expect(configuration.models[1].kind == .embedding)
        #expect(configuration.keys.map(\.key) == ["sk-1", "sk-2"])
        #expect(configuration.keys[1].tools == ["time__*"] && configuration.keys[1].name == "team-b")
    }

    @Test func unsetKeyVariableMeansNoAuth() throws {
        let configuration = try ConfigurationLoader.parse(minimal + "\nauth: {keys: [${SWITCHYARD_KEY:-}]}\n", environment: [:])
        #expect(!configuration.requiresAuth)
    }

    @Test func environmentDefaultsApply() throws {
        let yaml = minimal.replacingOccurrences(of: "https://api.openai.com/v1", with: "${BASE:-http://127.0.0.1:9/v1}")
        #expect(try ConfigurationLoader.parse(yaml, environment: [:]).providers[0].baseURL == "http://127.0.0.1:9/v1")
        #expect(try ConfigurationLoader.parse(yaml, environment: ["BASE": "http://h:1/v1"]).providers[0].baseURL == "http://h:1/v1")
    }

    @Test func aChatModelWithoutAPriceIsAnError() {
        expectError(
            minimal.replacingOccurrences(of: "    price: {input: 0.15, output: 0.60}\n", with: "").replacingOccurrences(
                of: "    price: {input: 0.15, output: 0.60}", with: ""),
            containing: ["test.yaml:4", "models[0]", "no price", "price: {input: 0.15, output: 0.60}"])
    }

    @Test func errorsNameLineFieldAndFix() {
        expectError(minimal.replacingOccurrences(of: "kind: openai", with: "kind: openia"), containing: ["test.yaml:2", "providers[0].kind", "openai", "anthropic"])
        expectError(minimal.replacingOccurrences(of: "provider: openai", with: "provider: opnai"), containing: ["test.yaml:5", "models[0].provider", "opnai", "providers: openai"])
        expectError(minimal.replacingOccurrences(of: "    provider: openai", with: "    prvider: openai"), containing: ["unknown field `prvider`", "allowed here"])
        expectError(minimal + "\nserver: {port: 99999}\n", containing: ["server.port", "0 to 65535"])
        expectError(minimal.replacingOccurrences(of: "\"https://api.openai.com/v1\"", with: "api.openai.com"), containing: ["base_url", "not an http(s) URL"])
        expectError(minimal + "\n  - {name: gpt-4o-mini, provider: openai, price: {input: 1, output: 1}}\n", containing: ["used twice"])
        expectError(minimal.replacingOccurrences(of: "{input: 0.15, output: 0.60}", with: "{input: 0.15}"), containing: ["output"])
        expectError("models: [", containing: ["not valid YAML"])
        expectError(minimal.replacingOccurrences(of: "${OPENAI_API_KEY}", with: "${OPENAI_API_KEY"), containing: ["test.yaml:2", "closing"])
    }

    @Test func localEmbeddingPrecisionsDefaultToExactServedAndFastInternal() throws {
        let defaults = try ConfigurationLoader.parse(minimal, source: "test.yaml", environment: [:])
        #expect(defaults.localEmbeddingPrecision == .float32)
        #expect(defaults.internalEmbeddingPrecision == .bfloat16)
        let set = try ConfigurationLoader.parse(
            minimal + "\nembeddings: {precision: bfloat16, internal_precision: float32}\n", source: "test.yaml", environment: [:])
        #expect(set.localEmbeddingPrecision == .bfloat16)
        #expect(set.internalEmbeddingPrecision == .float32)
        expectError(minimal + "\nembeddings: {internal_precision: fp16}\n", containing: ["embeddings.internal_precision", "'fp16'", "float32, bfloat16"])
    }

    @Test func theBundledExampleConfigIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ConfigurationLoader.load(
            path: root.appendingPathComponent("config/example.yaml").path, environment: ["TEAM_B_KEY": "sk-team-b"])
        #expect(configuration.providers.count == 5)
        #expect(configuration.providers.first { $0.name == "azure" }?.query["api-version"] == "2024-10-21")
        #expect(configuration.keys.map(\.name) == ["team-b"])
        #expect(configuration.keys.first?.models == ["gpt-4o-mini", "claude-*"])
    }
}
