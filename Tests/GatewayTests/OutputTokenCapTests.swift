import Foundation
import Testing

@testable import Gateway
import SwitchyardCore

/// Anthropic requests whose `max_tokens` passes what the model allows are capped, not refused.
@Suite("Output token cap")
struct OutputTokenCapTests {
    static let yaml = """
        storage: {sqlite: ":memory:"}
        providers:
          - {name: p, kind: openai, base_url: "http://127.0.0.1:9/v1"}
        models:
          - {name: windowed, provider: p, price: {input: 1, output: 1}, context_window: 1000}
          - {name: limited, provider: p, price: {input: 1, output: 1}, context_window: 200000, max_output_tokens: 8192}
          - {name: open, provider: p, price: {input: 1, output: 1}}
        groups:
          - {name: mixed, deployments: [windowed, limited]}
          - {name: with-open, deployments: [windowed, open]}
        """

    func gateway() throws -> Gateway {
        Gateway(configuration: try ConfigurationLoader.parse(Self.yaml), requestLog: RequestLog(store: nil))
    }

    func request(_ model: String, maxTokens: Int, prompt: String = "hi") -> ChatRequest {
        ChatRequest(model: model, messages: [.user(prompt)], maxTokens: maxTokens)
    }

    @Test func allowanceIsTheTighterOfMaxOutputAndWhatTheWindowLeaves() {
        let model = ModelSpec(name: "m", provider: "p", price: .init(input: 0, output: 0), contextWindow: 1000, maxOutputTokens: 300)
        #expect(OutputTokenCap.allowance(model, promptTokens: 100) == 300)
        #expect(OutputTokenCap.allowance(model, promptTokens: 900) == 100)
        #expect(OutputTokenCap.allowance(model, promptTokens: 1000) == nil)  // the prompt alone fills it: refused later, not hidden
        #expect(OutputTokenCap.cap(asked: 128_000, allowance: 300) == OutputTokenCap(asked: 128_000, capped: 300))
        #expect(OutputTokenCap.cap(asked: 200, allowance: 300) == nil)
        #expect(OutputTokenCap.cap(asked: nil, allowance: 300) == nil)
    }

    @Test func capsToTheModelsLimits() throws {
        let gateway = try gateway()
        let (capped, cap) = gateway.capOutputTokens(request("limited", maxTokens: 128_000))
        #expect(cap?.headerValue == "128000->8192" && capped.maxTokens == 8192)
        let prompt = TokenEstimator.estimate(request("windowed", maxTokens: 1))
        let (windowed, windowCap) = gateway.capOutputTokens(request("windowed", maxTokens: 128_000))
        #expect(windowCap?.capped == 1000 - prompt && windowed.maxTokens == 1000 - prompt)
        #expect(gateway.capOutputTokens(request("limited", maxTokens: 100)).cap == nil)
        #expect(gateway.capOutputTokens(request("open", maxTokens: 128_000)).cap == nil)
        #expect(gateway.capOutputTokens(request("nonexistent", maxTokens: 128_000)).cap == nil)
    }

    @Test func groupsCapToTheirRoomiestDeployment() throws {
        let gateway = try gateway()
        #expect(gateway.capOutputTokens(request("mixed", maxTokens: 128_000)).cap?.capped == 8192)
        #expect(gateway.capOutputTokens(request("with-open", maxTokens: 128_000)).cap == nil)
    }

    /// The capped request is one the planner accepts; the uncapped one it refused (the old behaviour).
    @Test func cappedRequestPassesThePlanner() async throws {
        let gateway = try gateway()
        let asked = request("windowed", maxTokens: 128_000)
        await #expect(throws: SwitchyardError.self) {
            _ = try await gateway.planner.plan(asked, estimatedTokens: TokenEstimator.estimate(asked), constraints: .init())
        }
        let (capped, _) = gateway.capOutputTokens(asked)
        let plan = try await gateway.planner.plan(capped, estimatedTokens: TokenEstimator.estimate(capped), constraints: .init())
        #expect(plan.steps.map(\.model.name) == ["windowed"])
    }
}
