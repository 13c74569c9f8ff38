import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

extension MessagesRoute {
    /// `"model": "workflow/NAME"` on the Messages API, as on chat completions: one message, or a stream with a
    /// comment line per step as it finishes and then the answer as Anthropic's events.
    func workflow(_ chat: ChatRequest, publicModel: String, context: CallContext) async throws -> Response {
        let prepared = try await gateway.prepareWorkflowCompletion(chat, context: context)
        var headers: HTTPFields = [.switchyardRequestID: context.requestID, .switchyardWorkflowRun: prepared.run.id]
        if let model = HeaderValue.bounded(chat.model) { headers[.switchyardModel] = model }
        guard chat.stream else {
            let completion = try await gateway.completeWorkflow(prepared, request: chat, context: context)
            var response = AnthropicTranslator.anthropicResponse(from: completion.response, model: publicModel)
            response.switchyard = completion.response.switchyard
            headers[.switchyardCost] = CostFormat.string(completion.costUSD)
            return try JSONBody.response(response, headers: headers)
        }
        headers.append(contentsOf: SSE.headers)
        let gateway = self.gateway
        let estimatedInput = TokenEstimator.estimate(chat)
        let body = ResponseBody { writer in
            let encoder = StreamRelay.encoder()
            func frame(_ events: [Anthropic.StreamEvent]) throws -> ByteBuffer {
                var buffer = ByteBuffer()
                for event in events { buffer.writeImmutableBuffer(try SSE.event(event, encoder: encoder)) }
                return buffer
            }
            switch try await WorkflowStreaming.run(prepared, request: chat, context: context, gateway: gateway, writer: &writer) {
            case .success(let response):
                var translator = AnthropicStreamWriter(messageID: context.requestID, model: publicModel, estimatedInputTokens: estimatedInput)
                var events = translator.start()
                events += translator.add(
                    ChatChunk(
                        id: response.id, created: response.created, model: publicModel,
                        choices: [ChatChunk.Choice(delta: ChatChunk.Delta(role: .assistant, content: response.message?.text ?? ""))],
                        usage: nil))
                events += translator.add(
                    ChatChunk(
                        id: response.id, created: response.created, model: publicModel,
                        choices: [ChatChunk.Choice(delta: ChatChunk.Delta(), finishReason: .stop)], usage: nil))
                events += translator.finish(usage: response.usage, switchyard: response.switchyard)
                try await writer.write(try frame(events))
            case .failure(let failure):
                try await writer.write(try frame([AnthropicStreamWriter.error(failure)]))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
