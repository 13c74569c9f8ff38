import Caching
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

    @Test func keysThatAllResolveToNothingFailClosed() throws {
        let configuration = try ConfigurationLoader.parse(minimal + "\nauth: {keys: [${SWITCHYARD_KEY:-}]}\n", environment: [:])
        #expect(!configuration.requiresAuth)
        // serve refuses to start, naming the variable, on any address.
        let problem = try #require(configuration.startupProblem(host: "127.0.0.1", allowUnauthenticated: false))
        #expect(problem.contains("${SWITCHYARD_KEY} is not set") && problem.contains("enabled: false"))
        #expect(configuration.startupProblem(host: "127.0.0.1", allowUnauthenticated: true) != nil)  // not a flag's business
        // One key set is enough; the empty one is reported but does not block.
        let mixed = try ConfigurationLoader.parse(
            minimal + "\nauth: {keys: [${A_KEY}, {key: \"${B_KEY}\", name: b}]}\n", environment: ["B_KEY": "sk-b"])
        #expect(mixed.keys.map(\.name) == ["b"] && mixed.auth.emptyKeys == ["auth.keys[0]: ${A_KEY} is not set"])
        #expect(mixed.startupProblem(host: "0.0.0.0", allowUnauthenticated: false) == nil)
        // Turned off explicitly: allowed, even on a public address.
        let off = try ConfigurationLoader.parse(minimal + "\nauth: {enabled: false}\n", environment: [:])
        #expect(off.startupProblem(host: "0.0.0.0", allowUnauthenticated: false) == nil)
        expectError(minimal + "\nauth: {enabled: false, keys: [sk-1]}\n", containing: ["enabled: false", "remove one"])
    }

    @Test func noAuthOnAPublicAddressNeedsAnExplicitFlag() throws {
        let open = try ConfigurationLoader.parse(minimal, environment: [:])
        for host in ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"] {
            #expect(open.startupProblem(host: host, allowUnauthenticated: false) == nil, "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.1.2.3", "gateway.example.com"] {
            let problem = try #require(open.startupProblem(host: host, allowUnauthenticated: false), "\(host)")
            #expect(problem.contains("--allow-unauthenticated") && problem.contains(host))
            #expect(open.startupProblem(host: host, allowUnauthenticated: true) == nil)
        }
    }

    /// A variable's value is data: it lands in one scalar and can never add keys, lists or documents.
    @Test(arguments: [
        "sk-1\nmodels: []",
        "sk-1}, evil: {x: 1",
        "sk-1 # not a comment",
        "[sk-1, sk-2]",
        "'quoted' \"twice\"",
        "--- \n...",
        "*alias",
    ])
    func environmentValuesCannotInjectYAML(value: String) throws {
        let yaml = minimal + "\nauth: {keys: [${SWITCHYARD_KEY}]}\n"
        let configuration = try ConfigurationLoader.parse(yaml, environment: ["OPENAI_API_KEY": value, "SWITCHYARD_KEY": value])
        #expect(configuration.providers[0].apiKey == value)
        #expect(configuration.keys.map(\.key) == [value])
        #expect(configuration.models.map(\.name) == ["gpt-4o-mini"])
    }

    @Test func unsetVariablesAreNamedByWhereTheyWere() throws {
        let configuration = try ConfigurationLoader.parse(minimal, environment: [:])
        #expect(configuration.providers[0].apiKey == nil)
        #expect(configuration.unsetVariables["providers[0].api_key"] == ["OPENAI_API_KEY"])
        let typed = try ConfigurationLoader.parse(minimal + "\nserver: {port: ${PORT:-4100}}\n", environment: [:])
        #expect(typed.server.port == 4100 && typed.unsetVariables["server.port"] == nil)  // a default is not unset
        #expect(try ConfigurationLoader.parse(minimal + "\nserver: {port: ${PORT}}\n", environment: ["PORT": "4200"]).server.port == 4200)
    }

    /// Every number in the config is checked at load: non-finite or out-of-range values are errors that
    /// name the file, line, field and range — never a trap at start or in arithmetic later.
    @Test(arguments: [
        ("server: {port: 1e400}", "server.port"),
        ("server: {max_body_bytes: 99999999999999999999}", "server.max_body_bytes"),
        ("server: {max_body_bytes: -1}", "server.max_body_bytes"),
        ("storage: {flush_ms: 0}", "storage.flush_ms"),
        ("routing: {circuit_breaker: {window_s: .inf}}", "routing.circuit_breaker.window_s"),
        ("routing: {circuit_breaker: {cooldown_s: 1e300}}", "routing.circuit_breaker.cooldown_s"),
        ("routing: {circuit_breaker: {failure_rate: .nan}}", "routing.circuit_breaker.failure_rate"),
        ("routing: {retry: {attempts: 0}}", "routing.retry.attempts"),
        ("routing: {retry: {backoff_ms: 9223372036854775807}}", "routing.retry.backoff_ms"),
        ("routing: {retry: {max_backoff_ms: -5}}", "routing.retry.max_backoff_ms"),
        ("cache: {ttl_s: 1e300}", "cache.ttl_s"),
        ("cache: {semantic: {threshold: 2}}", "cache.semantic.threshold"),
        ("cache: {semantic: {ttl_s: -1}}", "cache.semantic.ttl_s"),
        ("cache: {max_bytes: 1e400}", "cache.max_bytes"),
        ("retrieval: {sync_s: .inf}", "retrieval.sync_s"),
        ("retrieval: {hnsw: {m: 100000}}", "retrieval.hnsw.m"),
        ("retrieval: {bm25: {k1: .nan}}", "retrieval.bm25.k1"),
        ("mcp: {call_timeout_ms: 1e300}", "mcp.call_timeout_ms"),
    ])
    func numbersAreCheckedAtLoad(snippet: String, field: String) {
        expectError(minimal + "\n" + snippet + "\n", containing: ["test.yaml:", field, "from"])
    }

    @Test func semanticVerificationIsOnByDefaultAndCanBeTurnedOff() throws {
        let on = try ConfigurationLoader.parse(minimal + "\ncache: {semantic: {ttl_s: 60}}\n", environment: [:])
        #expect(on.cache.defaultPolicy?.semantic?.verify == true)
        #expect(on.cache.defaultPolicy?.semantic?.threshold == ResponseCache.defaultSemanticThreshold)
        #expect(try ConfigurationLoader.parse(minimal + "\ncache: {semantic: true}\n", environment: [:]).cache.defaultPolicy?.semantic?.verify == true)
        // Off, the threshold defaults to cosine's own (higher) one; an explicit threshold wins either way.
        let off = try ConfigurationLoader.parse(minimal + "\ncache: {semantic: {verify: false}}\n", environment: [:])
        #expect(off.cache.defaultPolicy?.semantic?.verify == false)
        #expect(off.cache.defaultPolicy?.semantic?.threshold == ResponseCache.defaultUnverifiedThreshold)
        let both = try ConfigurationLoader.parse(minimal + "\ncache: {semantic: {verify: false, threshold: 0.93}}\n", environment: [:])
        #expect(both.cache.defaultPolicy?.semantic?.threshold == 0.93 && both.cache.defaultPolicy?.semantic?.verify == false)
        expectError(minimal + "\ncache: {semantic: {verify: sometimes}}\n", containing: ["test.yaml:", "cache.semantic.verify", "true or false"])
        expectError(minimal + "\ncache: {semantic: {verfy: true}}\n", containing: ["cache.semantic", "verfy"])
    }

    @Test func modelAndProviderNumbersAreChecked() {
        expectError(minimal.replacingOccurrences(of: "{input: 0.15, output: 0.60}", with: "{input: .inf, output: 0.60}"), containing: ["price.input", "from 0"])
        expectError(minimal.replacingOccurrences(of: "{input: 0.15, output: 0.60}", with: "{input: -1, output: 0.60}"), containing: ["price.input"])
        expectError(minimal + "\n    context_window: 1e300\n", containing: ["models[0].context_window"])
        expectError(
            minimal.replacingOccurrences(of: "api_key: \"${OPENAI_API_KEY}\"}", with: "api_key: x, timeout_ms: 99999999999999}"),
            containing: ["providers[0].timeout_ms"])
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
