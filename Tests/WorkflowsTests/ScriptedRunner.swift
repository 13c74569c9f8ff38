import Foundation
import SwitchyardCore
import Workflows

/// Answers model calls from a script: `answer(model, prompt)` gives the text; every call is recorded, and the
/// number of calls in flight at once is tracked.
actor ScriptedRunner: WorkflowStepRunner {
    struct Call: Sendable, Hashable {
        var model: String
        var prompt: String
    }
    private let answer: @Sendable (String, String) throws -> String
    private let costPerCall: Double
    private let delay: Duration
    /// Calls to this model never return (until cancelled): the process "dies" in them.
    private let hangOn: String?
    private(set) var calls: [Call] = []
    private(set) var inFlight = 0
    private(set) var peakInFlight = 0

    init(costPerCall: Double = 0.001, delay: Duration = .zero, hangOn: String? = nil, answer: @escaping @Sendable (String, String) throws -> String) {
        self.answer = answer
        self.costPerCall = costPerCall
        self.delay = delay
        self.hangOn = hangOn
    }

    nonisolated func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult {
        let prompt = messages.map(\.text).joined(separator: "\n")
        try await begin(Call(model: model, prompt: prompt))
        if delay > .zero { try await Task.sleep(for: delay) }
        if model == hangOn { try await Task.sleep(for: .seconds(3600)) }
        await end()
        return WorkflowCallResult(text: try answer(model, prompt), costUSD: costPerCall, usage: Usage(promptTokens: 10, completionTokens: 5))
    }

    private func begin(_ call: Call) {
        calls.append(call)
        inFlight += 1
        peakInFlight = max(peakInFlight, inFlight)
    }

    private func end() { inFlight -= 1 }

    func calls(to model: String) -> [Call] { calls.filter { $0.model == model } }
}

struct ScriptError: Error {}

/// A workflow from YAML-shaped JSON text.
func spec(_ json: String) throws -> WorkflowSpec {
    try WorkflowSpec.parse(JSONValue.parse(json) ?? .null)
}

func engine(_ runner: ScriptedRunner, store: any WorkflowCheckpointStore = InMemoryWorkflowCheckpointStore()) -> WorkflowEngine {
    WorkflowEngine(runner: runner, store: store, sleep: { _ in })
}
