import Foundation
import Testing

import SwitchyardCore
@testable import Routing

@Suite("Auto routing pieces")
struct AutoRoutingTests {
    let classifier = RuleClassifier(
        rules: [
            .init(name: "vision", task: "vision", difficulty: 2, needs: [.vision]),
            .init(name: "code", task: "code", difficulty: 2, pattern: try! NSRegularExpression(pattern: "```|\\bfunc\\b|\\bdef\\b")),
            .init(name: "hard", task: "reasoning", difficulty: 3, keywords: ["prove", "step by step"]),
            .init(name: "long", difficulty: 2, minPromptTokens: 1000),
        ], defaultTask: "chat", defaultDifficulty: 1)

    func features(_ text: String, tokens: Int = 20, needs: Set<Capability> = []) -> RequestFeatures {
        RequestFeatures(promptTokens: tokens, expectedOutputTokens: 100, needs: needs, depth: 1, lastUserText: text)
    }

    @Test func rulesMatchInOrderAndFallBackToTheDefault() {
        #expect(classifier.classify(features("hello there")) == Classification(task: "chat", difficulty: 1, reason: "default"))
        #expect(classifier.classify(features("fix this: func a() {}")).task == "code")
        #expect(classifier.classify(features("Prove that √2 is irrational")).difficulty == 3)
        #expect(classifier.classify(features("summarise", tokens: 5000)).reason == "rule 'long'")
        #expect(classifier.classify(features("what is this", needs: [.vision])).reason == "rule 'vision'")
    }

    @Test func featuresComeFromTheRequest() {
        var request = ChatRequest(model: "auto", messages: [.system("s"), .user("a"), .assistant("b"), ChatMessage(role: .user, content: .parts([.text("look"), .imageURL(url: "https://x/y.png", detail: nil)]))])
        request.tools = [ToolDefinition(function: .init(name: "f"))]
        request.responseFormat = ResponseFormat(type: .jsonObject)
        request.maxTokens = 42
        let features = RequestFeatures(request, promptTokens: 99)
        #expect(features.needs == [.tools, .json, .vision])
        #expect(features.depth == 3 && features.expectedOutputTokens == 42 && features.lastUserText == "look")
    }

    @Test func constraintsExplainEveryViolation() {
        let local = ModelSpec(name: "llama", provider: "o", price: .init(input: 0, output: 0), capabilities: [.tools], tags: ["local"])
        let cloud = ModelSpec(name: "gpt-4o", provider: "p", price: .init(input: 2.5, output: 10), capabilities: [.tools, .vision])
        #expect(RouteConstraints(privacy: "local").violation(model: cloud, estimatedCost: 0, latencyMs: nil) != nil)
        #expect(RouteConstraints(privacy: "local").violation(model: local, estimatedCost: 0, latencyMs: nil) == nil)
        #expect(RouteConstraints(maxCostUSD: 0.001).violation(model: cloud, estimatedCost: 0.002, latencyMs: nil)?.contains("max_cost_usd") == true)
        #expect(RouteConstraints(maxLatencyMs: 500).violation(model: cloud, estimatedCost: 0, latencyMs: 900) != nil)
        #expect(RouteConstraints(maxLatencyMs: 500).violation(model: cloud, estimatedCost: 0, latencyMs: nil) == nil)
        #expect(RouteConstraints(only: ["gpt-*"]).violation(model: local, estimatedCost: 0, latencyMs: nil) == "not in `only`")
        #expect(RouteConstraints(ignore: ["gpt-*"]).violation(model: cloud, estimatedCost: 0, latencyMs: nil) == "in `ignore`")
        #expect(RouteConstraints(require: [.vision]).violation(model: local, estimatedCost: 0, latencyMs: nil)?.contains("vision") == true)
    }

    @Test func constraintsMergeToTheTighter() throws {
        let configured = RouteConstraints(maxCostUSD: 0.01, ignore: ["a"])
        let request = try RouteConstraints.parse(["max_cost_usd": 0.05, "ignore": ["b"], "privacy": "local"], field: "x")
        let merged = configured.merged(with: request)
        #expect(merged.maxCostUSD == 0.01 && merged.ignore == ["a", "b"] && merged.privacy == "local")
        #expect(throws: SwitchyardError.self) { _ = try RouteConstraints.parse(["max_cost_usd": "cheap"], field: "x") }
        #expect(throws: SwitchyardError.self) { _ = try RouteConstraints.parse("local", field: "x") }
    }
}
