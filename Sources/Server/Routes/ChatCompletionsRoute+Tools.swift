import AsyncAlgorithms
import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

/// Runs a streamed tool loop and hands its events, in order, to one writer.
enum ToolLoopStreaming {
    /// The loop runs in a child task; its parallel tool calls report through a channel, and `write`
    /// is called from this task only. The channel holds no buffer: the loop waits while the client
    /// reads slowly (back-pressure), so a fast upstream and a slow client cannot grow memory. When
    /// `write` throws (the client went away) the loop is cancelled.
    static func run(
        gateway: Gateway, chat: ChatRequest, offered: [ToolDescriptor], context: CallContext,
        write: (ToolLoopEvent) async throws -> Void
    ) async throws -> Result<ToolLoopSummary, any Error> {
        let events = AsyncChannel<ToolLoopEvent>()
        async let finished: Result<ToolLoopSummary, any Error> = {
            defer { events.finish() }
            do {
                return .success(try await gateway.streamWithTools(chat, offered: offered, context: context) { await events.send($0) })
            } catch {
                return .failure(error)
            }
        }()
        for await event in events { try await write(event) }
        return await finished
    }

    /// Tool steps as SSE comment lines, which SDKs skip: `: switchyard.tool_call {…}` before a call
    /// and `: switchyard.tool_result {…}` after it.
    static func comment(_ event: ToolLoopEvent) -> ByteBuffer? {
        switch event {
        case .chunk: nil
        case .toolCall(let trace): ByteBuffer(string: ": switchyard.tool_call \(trace.jsonString())\n\n")
        case .toolResult(let trace): ByteBuffer(string: ": switchyard.tool_result \(trace.jsonString())\n\n")
        }
    }
}

extension ChatCompletionsRoute {
    /// A streamed chat with the server-side tool loop: the answer streams as the model writes it,
    /// tool steps are reported as they happen, and the final usage chunk's `switchyard` object
    /// carries the whole trace (`tool_calls`).
    func streamWithTools(_ chat: ChatRequest, offered: [ToolDescriptor], context: CallContext) -> Response {
        var headers = SSE.headers
        headers[.switchyardRequestID] = context.requestID
        if let label = context.experiment?.label { headers[.switchyardVariant] = label }
        let gateway = self.gateway
        let includeUsage = chat.includeUsage
        let body = ResponseBody { writer in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let outcome = try await ToolLoopStreaming.run(gateway: gateway, chat: chat, offered: offered, context: context) { event in
                if case .chunk(let chunk) = event {
                    try await writer.write(SSE.data(chunk, encoder: encoder))
                } else if let comment = ToolLoopStreaming.comment(event) {
                    try await writer.write(comment)
                }
            }
            switch outcome {
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
