import Foundation
import Gateway
import PropertyBased
import SwitchyardCore
import Testing

/// Mutated configuration files: every value swapped for extreme or ill-typed ones, lines dropped,
/// repeated and re-indented. Loading must give a configuration or an error naming where — never a
/// trap — and a configuration that loads must build a gateway that can plan a request.
@Suite("Fuzz: configuration loader")
struct ConfigurationFuzzTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let seeds: [String] = {
        let example = (try? String(contentsOf: repository.appendingPathComponent("config/example.yaml"), encoding: .utf8)) ?? ""
        return [
            example,
            """
            server: {host: 127.0.0.1, port: 4000, max_body_bytes: 1048576}
            storage: {sqlite: ":memory:", flush_ms: 200}
            providers:
              - {name: p, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: "${KEY:-sk}", timeout_ms: 1000, headers: {x-a: b}}
              - {name: q, kind: anthropic, base_url: "http://127.0.0.1:9", default_max_tokens: 1024}
            models:
              - {name: a, provider: p, price: {input: 0.15, output: 0.6, cached_input: 0.075}, context_window: 128000, capabilities: [tools, json]}
              - {name: b, provider: q, price: {input: 3, output: 15}, max_output_tokens: 4096, tags: [local]}
              - {name: e, provider: p, type: embedding, price: {input: 0.02}}
            groups:
              - {name: g, strategy: usage-headroom, deployments: [{model: a, weight: 2, rpm: 100, tpm: 10000}, b], fallbacks: [b], retry: {attempts: 3, backoff_ms: 10, max_backoff_ms: 100}, timeout_ms: 5000}
            routes:
              - name: auto
                classifier: {rules: [{name: hard, keywords: [prove], difficulty: 3, min_prompt_tokens: 10}], default: {task: chat, difficulty: 1}}
                tiers: [{name: cheap, groups: [a], max_difficulty: 1}, {name: strong, groups: [g]}]
                constraints: {max_cost_usd: 0.5}
            routing: {circuit_breaker: {failures: 5, failure_rate: 0.5, min_calls: 10, window_s: 30, cooldown_s: 30}, retry: {attempts: 2}}
            cache: {exact: true, ttl_s: 60, semantic: {threshold: 0.97, ttl_s: 600, verify: true}, max_bytes: 1000000}
            retrieval: {chunk_tokens: 256, chunk_overlap: 32, top_k: 5, max_context_tokens: 1500, sync_s: 2, hnsw: {m: 16, ef_search: 64}, bm25: {k1: 0.9, b: 0.4}}
            mcp: {max_steps: 4, call_timeout_ms: 1000, max_result_bytes: 4096}
            auth: {keys: ["${SWITCHYARD_KEY:-sk-1}", {key: sk-2, name: team, models: ["a*"], groups: [hr]}]}
            """,
        ]
    }()

    static let values = [
        ".inf", "-.inf", ".nan", "1e400", "-1e400", "1e300", "-1", "0", "-0", "99999999999999999999", "9223372036854775807",
        "0.0000001", "~", "''", "[]", "{}", "[1, 2]", "{a: 1}", "true", "yes", "\"\"", "'${X}'", "${UNSET}", "${UNSET:-1e400}",
        "\"\\u0000\"", "*a", "&a x", "!!binary AAAA", "!!float 1", "|-\n  x", "\"http://\"", "-", "?", "%",
    ]

    static func mutate(_ text: String, _ mutator: inout Mutator) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<(1 + mutator.int(3)) {
            guard !lines.isEmpty else { break }
            let index = mutator.int(lines.count)
            switch mutator.int(6) {
            case 0, 1, 2:
                // Replace one value (after a `key:` in block or flow style) with a hostile one.
                var line = lines[index]
                let colons = line.indices.filter { line[$0] == ":" }
                if let colon = colons.isEmpty ? nil : colons[mutator.int(colons.count)] {
                    let after = line.index(after: colon)
                    let end = line[after...].firstIndex { $0 == "," || $0 == "}" || $0 == "]" } ?? line.endIndex
                    line.replaceSubrange(after..<end, with: " " + mutator.pick(values))
                    lines[index] = line
                }
            case 3: lines.remove(at: index)
            case 4: lines.insert(lines[index], at: index)
            default: lines[index] = mutator.pick(["", "  ", "\t"]) + lines[index]
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutatedConfigurationsLoadOrFailClearly() async {
        var loaded = 0, refused = 0
        await FuzzBudget.check { seed in
            var mutator = Mutator(seed: seed)
            let text = Self.mutate(mutator.pick(Self.seeds), &mutator)
            do {
                let configuration = try ConfigurationLoader.parse(text, source: "fuzz.yaml", environment: ["KEY": "sk-x"])
                loaded += 1
                // What loads must run: build the gateway and plan a request for each name.
                let gateway = Gateway(configuration: configuration, requestLog: RequestLog(store: nil))
                let names = configuration.models.filter { $0.kind == .chat }.map(\.name) + configuration.groups.map(\.name)
                    + configuration.autoRoutes.map(\.name)
                for name in names.prefix(6) {
                    _ = try? await gateway.previewRoute(ChatRequest(model: name, messages: [.user("prove it")], maxTokens: 100), context: CallContext())
                }
                _ = configuration.startupProblem(host: "0.0.0.0", allowUnauthenticated: false)
            } catch let error as SwitchyardError {
                refused += 1
                #expect(error.message.hasPrefix("fuzz.yaml"), "config error without its file: \(error.message.prefix(200))")
            } catch {
                Issue.record("not a configuration error: \(error) for\n\(text.prefix(600))")
            }
        }
        print("fuzz configuration (\(FuzzBudget.seconds) s): \(loaded) loaded, \(refused) refused")
        #expect(loaded + refused > 0)
    }
}
