import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

extension ResponsesRoute {
    /// A request for a model whose provider speaks the Responses API natively: passed through.
    /// A `previous_response_id` of a conversation this gateway translated (or another provider
    /// served) is expanded into the input items, since the upstream never saw it.
    func native(_ body: JSONValue, target: NativeResponsesTarget, request: Request, caller: Caller, requestID: String) async throws -> Response {
        guard var object = body.objectValue else { throw SwitchyardError.invalidRequest("The request body must be a JSON object.") }
        let reader = FieldReader(object: object)
        let stream = try reader.bool("stream") ?? false
        let store = try reader.bool("store") ?? true
        var input = try Self.nativeInput(object["input"])
        let previousID = try reader.string("previous_response_id")
        if let previousID, let stored = try await gateway.findStoredResponse(previousID, caller: caller, param: "previous_response_id"),
            stored.response["switchyard"]?["native"]?.stringValue != target.providerName
        {
            input = try await gateway.conversation(before: stored.id, caller: caller) + input
            object["previous_response_id"] = nil
        }
        object["input"] = .array(input)
        let items = input
        let forwarded = JSONValue.object(object)
        let context = try request.servingContext(requestID: requestID, caller: caller, protocol: .openai, logger: logger)
        let call = try await gateway.beginNativeResponse(forwarded, target: target, context: context, stream: stream)
        let createdAt = Date()
        let keep: @Sendable (JSONValue) -> Void = { [gateway] response in
            guard store, let id = response["id"]?.stringValue, !id.isEmpty, id.utf8.count <= 200 else { return }
            gateway.storeResponse(StoredResponse(
                id: id, owner: caller.id, createdAt: createdAt, previousID: previousID,
                input: ResponsesTranslator.normalizedInput(items, responseID: id), response: response))
        }
        var headers: HTTPFields = [.switchyardRequestID: requestID]
        if let name = HeaderValue.bounded(target.model.name) { headers[.switchyardModel] = name }
        if let name = HeaderValue.bounded(target.providerName) { headers[.switchyardProvider] = name }
        if let name = HeaderValue.bounded(target.model.upstream) { headers[.switchyardUpstreamModel] = name }
        headers.append(contentsOf: RateLimitFields.fields(call.context.admission))
        guard stream else {
            let (response, cost) = try await gateway.forwardResponse(forwarded, call: call)
            keep(response)
            headers[.switchyardCost] = CostFormat.string(cost)
            return try JSONBody.response(response, headers: headers)
        }
        let bytes = try await gateway.streamNativeResponse(forwarded, call: call)
        for field in SSE.headers { headers[field.name] = field.value }
        let gateway = self.gateway
        let body = ResponseBody { writer in
            var parser = EventStreamParser(format: .serverSentEvents)
            var final: JSONValue?
            var failure: (any Error)?
            var clientGone = false
            var lastSequence = -1
            func relay(_ messages: [StreamMessage]) async throws {
                var buffer = ByteBuffer()
                for message in messages {
                    var data = message.data
                    if let event = JSONValue.parse(message.data) {
                        if let number = event["sequence_number"]?.doubleValue, number.isFinite, abs(number) < 1e15 { lastSequence = Int(number) }
                        let type = event["type"]?.stringValue ?? message.event ?? ""
                        if ["response.completed", "response.incomplete", "response.failed"].contains(type), var response = event["response"]?.objectValue {
                            let usage = Gateway.responsesUsage(response["usage"], output: response["output"], estimate: call.estimate)
                            let cost = type == "response.failed" ? 0 : gateway.finishNativeResponse(call, usage: usage, error: nil)
                            if type == "response.failed" {
                                gateway.finishNativeResponse(
                                    call, usage: usage,
                                    error: SwitchyardError(code: .upstream, message: response["error"]?["message"]?.stringValue ?? "The upstream response failed.", status: 502))
                            }
                            response["model"] = .string(call.target.model.name)
                            response["switchyard"] = gateway.nativeExtension(call, usage: usage, cost: cost)
                            var rewritten = event.objectValue ?? [:]
                            rewritten["response"] = .object(response)
                            final = .object(response)
                            data = JSONValue.object(rewritten).jsonString()
                        }
                    }
                    if let name = message.event { buffer.writeString("event: \(name)\n") }
                    buffer.writeString("data: \(data)\n\n")
                }
                guard buffer.readableBytes > 0 else { return }
                do {
                    try await writer.write(buffer)
                } catch {
                    clientGone = true
                    throw CancellationError()
                }
            }
            do {
                for try await chunk in bytes {
                    let messages = try chunk.withUnsafeReadableBytes { try parser.feed($0) }
                    try await relay(messages)
                    if final != nil { break }
                }
                if final == nil {
                    try await relay(try parser.finish())
                }
            } catch {
                failure = error
            }
            if let response = final {
                keep(response)
            } else {
                let error = failure.map(ErrorResponses.normalize)
                    ?? SwitchyardError(code: .upstream, message: "Provider '\(call.target.providerName)' ended the stream before the response completed.", status: 502)
                gateway.finishNativeResponse(call, usage: nil, error: error)
                guard !clientGone else { return }
                let event: JSONValue = [
                    "type": "error", "code": "server_error", "message": .string(error.message), "param": .null,
                    "sequence_number": .int(Int64(lastSequence + 1)),
                ]
                try await writer.write(ByteBuffer(string: "event: error\ndata: \(event.jsonString())\n\n"))
            }
            guard !clientGone else { return }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The input as items (a string is one user message); items pass as they are (the upstream
    /// judges its own item types).
    static func nativeInput(_ value: JSONValue?) throws -> [JSONValue] {
        switch value {
        case .string(let text)?: return [["type": "message", "role": "user", "content": .string(text)]]
        case .array(let items)?:
            guard items.count <= ResponsesRequest.maxItems, items.allSatisfy({ $0.objectValue != nil }) else {
                throw SwitchyardError.invalidRequest("input must be a list of at most \(ResponsesRequest.maxItems) item objects.", param: "input")
            }
            return items
        default:
            throw SwitchyardError.invalidRequest("input is required: a string or a list of items.", param: "input")
        }
    }
}
