import Foundation
import Logging
import SwitchyardCore
import Workflows

/// Runs workflow steps through the gateway's own pipeline as the run's caller, so routing, caching, guardrails,
/// budgets, rate limits and the request log apply to every step as to any request.
struct GatewayStepRunner: WorkflowStepRunner {
    let gateway: Gateway
    let caller: Caller
    let logger: Logger

    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult {
        var request = ChatRequest(model: model, messages: messages, temperature: parameters.temperature, maxTokens: parameters.maxTokens)
        if let schema = parameters.outputSchema {
            request.responseFormat = ResponseFormat(type: .jsonSchema, jsonSchema: .init(name: "step_output", schema: schema))
        }
        let context = CallContext(caller: caller, clientProtocol: .openai, logger: logger)
        let outcome = try await gateway.complete(request, context: context)
        return WorkflowCallResult(
            text: outcome.response.message?.text ?? "", costUSD: outcome.costUSD,
            usage: outcome.response.usage ?? Usage(promptTokens: 0, completionTokens: 0))
    }
}

/// Runs started through the runs API, handed to the `WorkflowService`. Bounded: when it is full a new run is
/// refused (503) rather than queued without limit.
final class WorkflowQueue: Sendable {
    static let capacity = 10_000
    let runs: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (runs, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.capacity))
    }

    /// False when the queue is full.
    func enqueue(_ runID: String) -> Bool {
        if case .enqueued = continuation.yield(runID) { return true }
        return false
    }
}
