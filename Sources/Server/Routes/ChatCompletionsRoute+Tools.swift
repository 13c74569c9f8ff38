import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore
import Tools

extension ChatCompletionsRoute {
    /// A streamed chat with the server-side tool loop. The answer streams as the model writes it;
    /// each tool call is reported while the loop runs as SSE comment lines, which SDKs skip:
    /// `: switchyard.tool_call {json}` before the call and `: switchyard.tool_result {json}` after.
    /// The final usage chunk's `switchyard` object carries the whole trace (`tool_calls`).
    func streamWithTools(_ chat: ChatRequest, offered: [ToolDescriptor], context: CallContext) -> Response {
        var headers = SSE.headers
        headers[.switchyardRequestID] = context.requestID
        let gateway = self.gateway
        let includeUsage = chat.includeUsage
        let body = ResponseBody { writer in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            // The loop's parallel tool calls report through a stream; this task alone writes.
            let (pieces, sink) = AsyncStream<ByteBuffer>.makeStream()
            async let finished: Result<ToolLoopSummary, any Error> = {
                defer { sink.finish() }
                do {
                    return .success(
                        try await gateway.streamWithTools(chat, offered: offered, context: context) { event in
                            switch event {
                            case .chunk(let chunk): sink.yield(try SSE.data(chunk, encoder: encoder))
                            case .toolCall(let trace): sink.yield(ByteBuffer(string: ": switchyard.tool_call \(trace.jsonString())\n\n"))
                            case .toolResult(let trace): sink.yield(ByteBuffer(string: ": switchyard.tool_result \(trace.jsonString())\n\n"))
                            }
                        })
                } catch {
                    return .failure(error)
                }
            }()
            for await piece in pieces { try await writer.write(piece) }
            switch await finished {
            case .success(let summary):
                if includeUsage {
                    let final = ChatChunk(
                        id: summary.lastChunk?.id ?? "", created: summary.lastChunk?.created ?? Int(Date().timeIntervalSince1970),
                        model: summary.lastChunk?.model ?? summary.model.upstream, choices: [], usage: summary.usage,
                        switchyard: summary.extensionObject)
                    try await writer.write(SSE.data(final, encoder: encoder))
                }
                try await writer.write(SSE.done)
            case .failure(let error):
                let failure = ErrorResponses.normalize(error)
                let payload: JSONValue = [
                    "error": [
                        "message": .string(failure.message), "type": .string(ErrorResponses.openAIType(status: failure.status)),
                        "param": .null, "code": .string(ErrorResponses.openAICode(failure)),
                    ]
                ]
                try await writer.write(SSE.data(payload, encoder: encoder))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
