/// The configuration `switchyard serve` runs with when no config file is given: every model is
/// served by Switchyard's built-in mock upstream, so it starts and answers with no API keys.
enum DemoConfiguration {
    static func yaml(mockURL: String, port: Int, database: String) -> String {
        """
        # DEMO CONFIGURATION — every model below is answered by the built-in MOCK upstream at \(mockURL).
        # No real provider is called and no answer comes from a real model. Give `--config FILE` to use real providers.
        server: {host: 127.0.0.1, port: \(port)}
        storage: {sqlite: \(database)}
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
        auth: {keys: []}
        """
    }
}
