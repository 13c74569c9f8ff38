import Foundation

/// Turns a stream of chat chunks into the Responses API's typed events, each with its
/// `sequence_number`: `response.created`, `response.in_progress`, then per output item
/// `response.output_item.added`, its content (`response.content_part.added`,
/// `response.output_text.delta`…`.done`, `response.content_part.done`, or
/// `response.function_call_arguments.delta`…`.done`) and `response.output_item.done`, and finally
/// `response.completed` (or `response.incomplete` / `response.failed`) with the whole response.
/// Output indexes and item ids stay fixed from `added` to `done`, as the official SDKs check.
public struct ResponsesStreamWriter: Sendable {
    private let responseID: String
    private let request: ResponsesRequest
    private let createdAt: Date
    private var sequence = 0
    private var started = false
    /// Finished output items by output index.
    private var items: [Int: JSONValue] = [:]
    private var openText: (index: Int, id: String, text: String)?
    /// Chat tool-call index → its open function-call item.
    private var calls: [Int: Call] = [:]
    private var nextIndex = 0
    private var finishReason: FinishReason?
    private var refusal: String?

    private struct Call: Sendable {
        var index: Int
        var id: String
        var callID: String
        var name: String
        var arguments: String
        var done: Bool
    }

    public init(responseID: String, request: ResponsesRequest, createdAt: Date) {
        self.responseID = responseID
        self.request = request
        self.createdAt = createdAt
    }

    private mutating func event(_ type: String, _ fields: [String: JSONValue]) -> JSONValue {
        var object = fields
        object["type"] = .string(type)
        object["sequence_number"] = .int(Int64(sequence))
        sequence += 1
        return .object(object)
    }

    private func snapshot(status: String) -> JSONValue {
        ResponsesTranslator.response(id: responseID, request: request, createdAt: createdAt, status: status, output: [], usage: nil)
    }

    /// The opening events; call once before any chunk.
    public mutating func start() -> [JSONValue] {
        started = true
        return [
            event("response.created", ["response": snapshot(status: "in_progress")]),
            event("response.in_progress", ["response": snapshot(status: "in_progress")]),
        ]
    }

    public mutating func add(_ chunk: ChatChunk) -> [JSONValue] {
        var events: [JSONValue] = started ? [] : start()
        for choice in chunk.choices where choice.index == 0 {
            if let text = choice.delta.content, !text.isEmpty {
                if openText == nil {
                    let index = nextIndex
                    nextIndex += 1
                    let id = ResponsesTranslator.itemID("msg", responseID: responseID, index: index)
                    openText = (index, id, "")
                    events.append(event("response.output_item.added", [
                        "output_index": .int(Int64(index)),
                        "item": ResponsesTranslator.messageItem(id: id, status: "in_progress", content: []),
                    ]))
                    events.append(event("response.content_part.added", [
                        "item_id": .string(id), "output_index": .int(Int64(index)), "content_index": 0,
                        "part": ResponsesTranslator.outputText(""),
                    ]))
                }
                if let open = openText {
                    openText?.text += text
                    events.append(event("response.output_text.delta", [
                        "item_id": .string(open.id), "output_index": .int(Int64(open.index)), "content_index": 0,
                        "delta": .string(text), "logprobs": [],
                    ]))
                }
            }
            if let text = choice.delta.refusal, !text.isEmpty { refusal = (refusal ?? "") + text }
            for delta in choice.delta.toolCalls ?? [] {
                if calls[delta.index] == nil {
                    events += closeText()
                    let index = nextIndex
                    nextIndex += 1
                    let callID = delta.id.flatMap { $0.isEmpty ? nil : $0 } ?? ResponsesTranslator.itemID("call", responseID: responseID, index: index)
                    let call = Call(
                        index: index, id: ResponsesTranslator.itemID("fc", responseID: responseID, index: index), callID: callID,
                        name: delta.function?.name ?? "", arguments: "", done: false)
                    calls[delta.index] = call
                    events.append(event("response.output_item.added", [
                        "output_index": .int(Int64(index)),
                        "item": ResponsesTranslator.functionCallItem(
                            id: call.id, callID: call.callID, name: call.name, arguments: "", status: "in_progress"),
                    ]))
                }
                if let arguments = delta.function?.arguments, !arguments.isEmpty, let call = calls[delta.index] {
                    calls[delta.index]?.arguments += arguments
                    events.append(event("response.function_call_arguments.delta", [
                        "item_id": .string(call.id), "output_index": .int(Int64(call.index)), "delta": .string(arguments),
                    ]))
                }
            }
            if let reason = choice.finishReason { finishReason = reason }
        }
        return events
    }

    private mutating func closeText() -> [JSONValue] {
        guard let open = openText else { return [] }
        openText = nil
        let part = ResponsesTranslator.outputText(open.text)
        let item = ResponsesTranslator.messageItem(id: open.id, status: "completed", content: [part])
        items[open.index] = item
        return [
            event("response.output_text.done", [
                "item_id": .string(open.id), "output_index": .int(Int64(open.index)), "content_index": 0, "text": .string(open.text),
                "logprobs": [],
            ]),
            event("response.content_part.done", [
                "item_id": .string(open.id), "output_index": .int(Int64(open.index)), "content_index": 0, "part": part,
            ]),
            event("response.output_item.done", ["output_index": .int(Int64(open.index)), "item": item]),
        ]
    }

    private mutating func closeCalls() -> [JSONValue] {
        var events: [JSONValue] = []
        for key in calls.keys.sorted() {
            guard let call = calls[key], !call.done else { continue }
            calls[key]?.done = true
            let arguments = call.arguments.isEmpty ? "{}" : call.arguments
            let item = ResponsesTranslator.functionCallItem(
                id: call.id, callID: call.callID, name: call.name, arguments: arguments, status: "completed")
            items[call.index] = item
            events.append(event("response.function_call_arguments.done", [
                "item_id": .string(call.id), "output_index": .int(Int64(call.index)), "arguments": .string(arguments),
                "name": .string(call.name),
            ]))
            events.append(event("response.output_item.done", ["output_index": .int(Int64(call.index)), "item": item]))
        }
        return events
    }

    /// A refusal, or an answer with no output at all, still needs a message item.
    private mutating func closeEmptyOrRefusal() -> [JSONValue] {
        guard refusal != nil || (items.isEmpty && openText == nil && calls.isEmpty) else { return [] }
        let index = nextIndex
        nextIndex += 1
        let id = ResponsesTranslator.itemID("msg", responseID: responseID, index: index)
        let part: JSONValue = refusal.map { ["type": "refusal", "refusal": .string($0)] } ?? ResponsesTranslator.outputText("")
        let item = ResponsesTranslator.messageItem(id: id, status: "completed", content: [part])
        items[index] = item
        return [
            event("response.output_item.added", [
                "output_index": .int(Int64(index)), "item": ResponsesTranslator.messageItem(id: id, status: "in_progress", content: []),
            ]),
            event("response.content_part.added", [
                "item_id": .string(id), "output_index": .int(Int64(index)), "content_index": 0,
                "part": refusal != nil ? ["type": "refusal", "refusal": ""] : ResponsesTranslator.outputText(""),
            ]),
            event("response.content_part.done", ["item_id": .string(id), "output_index": .int(Int64(index)), "content_index": 0, "part": part]),
            event("response.output_item.done", ["output_index": .int(Int64(index)), "item": item]),
        ]
    }

    /// The finished output items, in order (after `finish`).
    public var output: [JSONValue] { items.keys.sorted().compactMap { items[$0] } }

    /// The closing events once the upstream stream has ended; returns them and the final response.
    public mutating func finish(usage: Usage?, switchyard: JSONValue?) -> (events: [JSONValue], response: JSONValue) {
        var events: [JSONValue] = started ? [] : start()
        events += closeText()
        events += closeCalls()
        events += closeEmptyOrRefusal()
        let (status, incomplete) = ResponsesTranslator.status(finishReason)
        let response = ResponsesTranslator.response(
            id: responseID, request: request, createdAt: createdAt, status: status, output: output, usage: usage,
            incomplete: incomplete, switchyard: switchyard)
        events.append(event(status == "completed" ? "response.completed" : "response.incomplete", ["response": response]))
        return (events, response)
    }

    /// The event that ends a stream that failed after it started: `response.failed`, the output so far.
    public mutating func fail(_ error: SwitchyardError) -> (events: [JSONValue], response: JSONValue) {
        var events: [JSONValue] = started ? [] : start()
        events += closeText()
        events += closeCalls()
        let code = error.status == 429 ? "rate_limit_exceeded" : error.status >= 500 ? "server_error" : "invalid_request"
        let response = ResponsesTranslator.response(
            id: responseID, request: request, createdAt: createdAt, status: "failed", output: output, usage: nil,
            error: ["code": .string(code), "message": .string(error.message)])
        events.append(event("response.failed", ["response": response]))
        return (events, response)
    }
}
