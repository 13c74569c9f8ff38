import Foundation
import SwitchyardCore

/// Builds OpenAI-style chunks from streams whose messages carry whole pieces — text, complete tool
/// calls, a finish reason — as Gemini's SSE events and Ollama's NDJSON lines do.
struct PieceChunker: Sendable {
    let model: String
    let id = "chatcmpl-" + UUID().uuidString.lowercased()
    let created = Int(Date().timeIntervalSince1970)
    private var sentRole = false
    private var sawCalls = false

    init(model: String) {
        self.model = model
    }

    /// The chunks of one message: a delta with its text and tool calls (numbered from `firstToolIndex`;
    /// the stream's first delta also carries the role), then, when the message ends the stream, a
    /// chunk with the finish reason — `tool_calls` whenever the stream carried any. Returns that
    /// reason too.
    mutating func chunks(text: String, calls: [ToolCall], firstToolIndex: Int, finish: FinishReason?) -> (chunks: [ChatChunk], finish: FinishReason?) {
        var delta = ChatChunk.Delta()
        if !sentRole {
            delta.role = .assistant
            sentRole = true
        }
        if !text.isEmpty { delta.content = text }
        if !calls.isEmpty {
            sawCalls = true
            delta.toolCalls = calls.enumerated().map { offset, call in
                ToolCallDelta(
                    index: firstToolIndex + offset, id: call.id, type: "function",
                    function: .init(name: call.function.name, arguments: call.function.arguments))
            }
        }
        var chunks: [ChatChunk] = []
        if delta != ChatChunk.Delta() {
            chunks.append(ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta)]))
        }
        guard let finish else { return (chunks, nil) }
        let reason = sawCalls ? FinishReason.toolCalls : finish
        chunks.append(ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: .init(), finishReason: reason)]))
        return (chunks, reason)
    }

    /// The closing chunk: no choices, the stream's usage.
    func usageChunk(_ usage: Usage?) -> ChatChunk {
        ChatChunk(id: id, created: created, model: model, choices: [], usage: usage)
    }
}
