import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

extension ChatCompletionsRoute {
    /// `"model": "workflow/NAME"`. Not streamed: the run to its end, answered as one completion. Streamed: an SSE
    /// comment line per step as it finishes (`: switchyard.workflow_step {…}`, which SDKs skip), then the answer as
    /// content chunks, usage (when asked) and `[DONE]`; a run that fails ends the stream with an error event.
    func workflow(_ chat: ChatRequest, context: CallContext) async throws -> Response {
        let prepared = try await gateway.prepareWorkflowCompletion(chat, context: context)
        var headers: HTTPFields = [.switchyardRequestID: context.requestID, .switchyardWorkflowRun: prepared.run.id]
        if let model = HeaderValue.bounded(chat.model) { headers[.switchyardModel] = model }
        guard chat.stream else {
            let completion = try await gateway.completeWorkflow(prepared, request: chat, context: context)
            headers[.switchyardCost] = CostFormat.string(completion.costUSD)
            return try JSONBody.response(completion.response, headers: headers)
        }
        headers.append(contentsOf: SSE.headers)
        let gateway = self.gateway
        let includeUsage = chat.includeUsage
        let body = ResponseBody { writer in
            let encoder = StreamRelay.encoder()
            switch try await WorkflowStreaming.run(prepared, request: chat, context: context, gateway: gateway, writer: &writer) {
            case .success(let response):
                let chunks = [
                    ChatChunk(
                        id: response.id, created: response.created, model: response.model,
                        choices: [ChatChunk.Choice(delta: ChatChunk.Delta(role: .assistant, content: response.message?.text ?? ""))], usage: nil),
                    ChatChunk(
                        id: response.id, created: response.created, model: response.model,
                        choices: [ChatChunk.Choice(delta: ChatChunk.Delta(), finishReason: .stop)], usage: nil),
                ]
                for chunk in chunks { try await writer.write(try SSE.data(chunk, encoder: encoder)) }
                if includeUsage {
                    let final = ChatChunk(
                        id: response.id, created: response.created, model: response.model, choices: [], usage: response.usage,
                        switchyard: response.switchyard)
                    try await writer.write(try SSE.data(final, encoder: encoder))
                }
                try await writer.write(SSE.done)
            case .failure(let failure):
                try await writer.write(try StreamRelay.openAIError(failure, encoder: encoder))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

}

/// A `workflow/NAME` stream's common part: the run, with an SSE comment line per step as it finishes.
enum WorkflowStreaming {
    /// Runs `prepared`, writing each finished step's comment; the answer, or why the run failed.
    static func run(
        _ prepared: PreparedWorkflowRun, request: ChatRequest, context: CallContext, gateway: Gateway,
        writer: inout any ResponseBodyWriter
    ) async throws -> Result<ChatResponse, SwitchyardError> {
        let steps = AsyncStream<ByteBuffer>.makeStream()
        // The run goes on beside this task, which writes the step comments as the run reports them.
        async let completion = {
            defer { steps.continuation.finish() }
            return try await gateway.completeWorkflow(prepared, request: request, context: context) { step in
                steps.continuation.yield(stepComment(step))
            }
        }()
        for await comment in steps.stream { try await writer.write(comment) }
        do {
            return .success(try await completion.response)
        } catch {
            return .failure((error as? SwitchyardError) ?? SwitchyardError.internal("The workflow run failed: \(error)"))
        }
    }

    /// `: switchyard.workflow_step {"id", "status", "cost_usd", "ms", "attempts"}` and a blank line.
    static func stepComment(_ step: WorkflowStepRecord) -> ByteBuffer {
        let payload: JSONValue = [
            "id": .string(step.stepID), "status": .string(step.status.rawValue), "cost_usd": .double(step.costUSD),
            "ms": .double((step.ms * 1000).rounded() / 1000), "attempts": .int(Int64(step.attempts)),
        ]
        return ByteBuffer(string: ": switchyard.workflow_step \(payload.jsonString())\n\n")
    }
}
