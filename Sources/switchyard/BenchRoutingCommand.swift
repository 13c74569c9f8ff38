import ArgumentParser
import Foundation
import Gateway
import SwitchyardCore

/// `switchyard bench routing`: what the routing decision costs per request (no network involved).
struct BenchRoutingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing", abstract: "Time the routing decision (planning) for plain models, groups and the auto route.")

    @Option(help: "Decisions per scenario.")
    var iterations = 50_000

    static let yaml = """
        storage: {sqlite: ":memory:"}
        providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:9/v1"}]
        models:
          - {name: m1, provider: p, price: {input: 0.1, output: 0.4}, context_window: 128000, capabilities: [tools, json]}
          - {name: m2, provider: p, price: {input: 0.2, output: 0.8}, context_window: 128000, capabilities: [tools, json]}
          - {name: m3, provider: p, price: {input: 1, output: 4}, context_window: 200000, capabilities: [tools, json, vision]}
          - {name: m4, provider: p, price: {input: 5, output: 20}, context_window: 200000, capabilities: [tools, json, vision]}
          - {name: local, provider: p, price: {input: 0, output: 0}, context_window: 8000, capabilities: [json], tags: [local]}
        groups:
          - {name: fast, strategy: least-latency, deployments: [m1, {model: m2, weight: 2}], fallbacks: [smart]}
          - {name: smart, strategy: lowest-cost, deployments: [m3, m4]}
          - {name: weighted, strategy: weighted, deployments: [{model: m1, weight: 1}, {model: m2, weight: 3}, {model: m3, weight: 1}]}
        routes:
          - name: auto
            classifier:
              rules:
                - {name: code, regex: "```|\\\\bfunc\\\\b|\\\\bdef\\\\b", task: code, difficulty: 2}
                - {name: hard, keywords: [prove, derive, step by step], task: reasoning, difficulty: 3}
                - {name: long, min_prompt_tokens: 4000, difficulty: 2}
            tiers:
              - {name: cheap, groups: [local, fast], max_difficulty: 1}
              - {name: mid, groups: [m3], max_difficulty: 2}
              - {name: strong, groups: [m4]}
        """

    func run() async throws {
        let configuration = try ConfigurationLoader.parse(Self.yaml, source: "<bench>")
        let gateway = Gateway(configuration: configuration, requestLog: RequestLog(store: nil))
        let messages: [ChatMessage] = [
            .system("You are a concise assistant for a benchmark harness."),
            .user("Summarize in one sentence why an API gateway in front of several LLM providers can help a small team with routing, retries, budgets and caching."),
        ]
        let scenarios: [(String, String)] = [("plain model", "m1"), ("group least-latency + fallbacks", "fast"), ("group weighted", "weighted"), ("auto route (rules, 3 tiers)", "auto")]
        print("routing decision cost, \(iterations) decisions each (planning only: features, classifier, candidates, strategy, trace)")
        print("scenario                              p50 µs   p99 µs   mean µs")
        for (label, model) in scenarios {
            let request = ChatRequest(model: model, messages: messages)
            let context = CallContext()
            for _ in 0..<1000 { _ = try await gateway.previewRoute(request, context: context) }
            var samples: [Double] = []
            samples.reserveCapacity(iterations)
            let clock = ContinuousClock()
            var progress = BenchProgress(label, total: iterations, unit: "decisions")
            for _ in 0..<iterations {
                let started = clock.now
                _ = try await gateway.previewRoute(request, context: context)
                let elapsed = clock.now - started
                samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                progress.tick()
            }
            progress.finish()
            samples.sort()
            let mean = samples.reduce(0, +) / Double(samples.count)
            print(label.padding(36), String(format: "%7.2f  %7.2f  %7.2f", samples[samples.count / 2], samples[samples.count * 99 / 100], mean))
        }
    }
}
