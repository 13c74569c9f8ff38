import Foundation
import Logging
import Retrieval
import SwitchyardCore
import Tools
import Workflows

/// Runs workflow steps through the gateway's own pipeline as the run's caller, so routing, caching, guardrails,
/// budgets, rate limits, permissions and the request log apply to every step as to any request.
struct GatewayStepRunner: WorkflowStepRunner {
    let gateway: Gateway
    let caller: Caller
    let logger: Logger

    /// The `_meta` key a `tool` step's idempotency key travels under (MCP reserves unprefixed names).
    static let idempotencyMetaKey = "io.switchyard/idempotency-key"

    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult {
        var request = ChatRequest(model: model, messages: messages, temperature: parameters.temperature, maxTokens: parameters.maxTokens)
        if let schema = parameters.outputSchema {
            request.responseFormat = ResponseFormat(type: .jsonSchema, jsonSchema: .init(name: "step_output", schema: schema))
        }
        var context = CallContext(caller: caller, clientProtocol: .openai, logger: logger)
        // The top run (a sub-workflow's run is `PARENT.STEP`) is the step calls' episode: the request log groups
        // them, and feedback on the run reaches them all.
        context.episodeID = parameters.runID.map { String($0.prefix { $0 != "." }) }
        let outcome = try await gateway.complete(request, context: context)
        return WorkflowCallResult(
            text: outcome.response.message?.text ?? "", costUSD: outcome.costUSD,
            usage: outcome.response.usage ?? Usage(promptTokens: 0, completionTokens: 0))
    }

    func retrieve(collection: String, query: String, topK: Int, mode: String?) async throws -> [WorkflowPassage] {
        var options: [String: JSONValue] = ["query": .string(query), "top_k": .int(Int64(topK))]
        if let mode { options["mode"] = .string(mode) }
        let results = try await gateway.searchCollection(try SearchOptions.parse(.object(options)), in: collection, caller: caller)
        return results.map { result in
            WorkflowPassage(
                documentID: result.hit.documentID, title: result.hit.title, source: result.hit.source, score: Double(result.hit.score),
                text: result.hit.text, metadata: .object(result.metadata))
        }
    }

    /// The key goes in the call's `_meta`, and also as the `idempotency_key` argument when the tool declares one and
    /// the step did not set it.
    func callTool(name: String, arguments: JSONValue, idempotencyKey: String) async throws -> WorkflowToolResult {
        var arguments = arguments
        if var object = arguments.objectValue, object["idempotency_key"] == nil,
            gateway.servedTools(for: caller).first(where: { $0.name == name })?.inputSchema["properties"]?["idempotency_key"] != nil
        {
            object["idempotency_key"] = .string(idempotencyKey)
            arguments = .object(object)
        }
        let context = CallContext(caller: caller, clientProtocol: .openai, logger: logger)
        let result: ToolResult
        do {
            result = try await gateway.callServedTool(
                name, arguments: arguments, context: context, meta: [Self.idempotencyMetaKey: .string(idempotencyKey)])
        } catch let error as ToolError {
            throw WorkflowRunError(.stepFailed, error.message)
        }
        return WorkflowToolResult(text: result.text, structured: result.structuredContent, isError: result.isError)
    }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        try await gateway.localEmbedders.embedder(named: Gateway.localEmbeddingModel, precision: gateway.configuration.internalEmbeddingPrecision)
            .embed(texts).vectors
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
