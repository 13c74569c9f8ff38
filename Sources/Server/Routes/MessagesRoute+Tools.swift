import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

extension MessagesRoute {
    /// A streamed Anthropic Messages request with the server-side tool loop: the answer's events
    /// stream as the model writes it, tool steps come as SSE comment lines, and `message_delta`
    /// carries the trace in its `switchyard` object.
    func streamWithTools(_ chat: ChatRequest, offered: [ToolDescriptor], publicModel: String, context: CallContext) -> Response {
        var headers = SSE.headers
        headers[.switchyardRequestID] = context.requestID
        if let label = context.experiment?.label { headers[.switchyardVariant] = label }
        let gateway = self.gateway
        let estimatedInput = TokenEstimator.estimate(chat)
        let body = ResponseBody { writer in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            var translator = AnthropicStreamWriter(messageID: context.requestID, model: publicModel, estimatedInputTokens: estimatedInput)
            func send(_ events: [Anthropic.StreamEvent]) async throws {
                var buffer = ByteBuffer()
                for event in events { buffer.writeImmutableBuffer(try SSE.event(event, encoder: encoder)) }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
            try await send(translator.start())
            let outcome = try await ToolLoopStreaming.run(gateway: gateway, chat: chat, offered: offered, context: context) { event in
                if case .chunk(let chunk) = event {
                    try await send(translator.add(chunk))
                } else if let comment = ToolLoopStreaming.comment(event) {
                    try await writer.write(comment)
                }
            }
            switch outcome {
            case .success(let summary):
                try await send(translator.finish(usage: summary.usage, switchyard: summary.extensionObject))
            case .failure(let error):
                try await send([AnthropicStreamWriter.error(ErrorResponses.normalize(error))])
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
