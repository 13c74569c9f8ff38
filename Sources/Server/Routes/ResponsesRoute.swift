import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// OpenAI's Responses API over any configured model: `POST /v1/responses` (streamed or not),
/// `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`.
/// Requests are translated to chat requests and served by the chat pipeline (routing, caching,
/// grounding, budgets, MCP tools); answers are translated back. Stored responses (`store`, the
/// default) carry conversations for `previous_response_id`, visible only to the key that made them.
struct ResponsesRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    func create(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            let json = try JSONBody.decode(JSONValue.self, from: body)
            if let model = json["model"]?.stringValue, let target = gateway.nativeResponsesTarget(model, caller: caller) {
                return try await native(json, target: target, request: request, caller: caller, requestID: requestID)
            }
            let parsed = try ResponsesRequest.parse(json)
            var history: [JSONValue] = []
            if let previous = parsed.previousResponseID { history = try await gateway.conversation(before: previous, caller: caller) }
            let (chat, context) = gateway.assignVariant(
                try ResponsesTranslator.chatRequest(parsed, history: history),
                context: try request.servingContext(requestID: requestID, caller: caller, protocol: .openai, logger: logger))
            let turn = Turn(id: ResponsesTranslator.responseID(requestID: requestID), request: parsed, createdAt: Date(), owner: caller.id)
            if parsed.stream {
                if let offered = try await gateway.serverTools(for: chat, caller: caller) {
                    return streamWithTools(chat, offered: offered, turn: turn, context: context)
                }
                return try await stream(chat, turn: turn, context: context)
            }
            let outcome = try await gateway.complete(chat, context: context)
            let response = ResponsesTranslator.response(
                id: turn.id, request: parsed, createdAt: turn.createdAt, chat: outcome.response, switchyard: outcome.response.switchyard)
            turn.keep(response, in: gateway)
            var headers = ChatCompletionsRoute.headers(
                context: context, model: outcome.model, provider: outcome.provider, trace: outcome.trace, cache: outcome.cache,
                similarity: outcome.cacheSimilarity, admission: outcome.admission, guardrail: outcome.guardrail,
                cacheVerify: outcome.cacheVerify)
            headers[.switchyardCost] = CostFormat.string(outcome.costUSD)
            if outcome.response.usage?.estimated == true { headers[.switchyardUsageEstimated] = "true" }
            return try JSONBody.response(response, headers: headers)
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    /// One response being made: what storing it needs.
    struct Turn: Sendable {
        var id: String
        var request: ResponsesRequest
        var createdAt: Date
        var owner: String

        func keep(_ response: JSONValue, in gateway: Gateway) {
            guard request.store else { return }
            gateway.storeResponse(StoredResponse(
                id: id, owner: owner, createdAt: createdAt, previousID: request.previousResponseID,
                input: ResponsesTranslator.normalizedInput(request.input, responseID: id), response: response))
        }
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    static func frame(_ events: [JSONValue], encoder: JSONEncoder) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for event in events {
            buffer.writeString("event: \(event["type"]?.stringValue ?? "message")\ndata: ")
            buffer.writeBytes(try encoder.encode(event))
            buffer.writeString("\n\n")
        }
        return buffer
    }

    private func stream(_ chat: ChatRequest, turn: Turn, context: CallContext) async throws -> Response {
        let outcome = try await gateway.stream(chat, context: context)
        let headers = StreamRelay.headers(context: context, outcome: outcome)
        let gateway = self.gateway
        let body = ResponseBody { writer in
            let encoder = Self.encoder()
            var translator = ResponsesStreamWriter(responseID: turn.id, request: turn.request, createdAt: turn.createdAt)
            try await StreamRelay.run(outcome, gateway: gateway, writer: &writer) {
                try Self.frame(translator.start(), encoder: encoder)
            } chunk: { piece in
                try Self.frame(translator.add(piece), encoder: encoder)
            } end: { ending, accounting in
                let final: (events: [JSONValue], response: JSONValue)
                switch ending {
                case .failed(let error): final = translator.fail(error)
                case .finished(let usage, let cost):
                    final = translator.finish(usage: usage, switchyard: accounting.extensionObject(cost: cost, usage: usage))
                }
                turn.keep(final.response, in: gateway)
                return try Self.frame(final.events, encoder: encoder)
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// A streamed request with the server-side MCP tool loop: the final turn's events stream as the
    /// model writes them; tool steps come as SSE comment lines, as on chat completions.
    private func streamWithTools(_ chat: ChatRequest, offered: [ToolDescriptor], turn: Turn, context: CallContext) -> Response {
        var headers = SSE.headers
        headers[.switchyardRequestID] = context.requestID
        if let label = context.experiment?.label { headers[.switchyardVariant] = label }
        let gateway = self.gateway
        let body = ResponseBody { writer in
            let encoder = Self.encoder()
            var translator = ResponsesStreamWriter(responseID: turn.id, request: turn.request, createdAt: turn.createdAt)
            func send(_ events: [JSONValue]) async throws {
                if !events.isEmpty { try await writer.write(Self.frame(events, encoder: encoder)) }
            }
            try await send(translator.start())
            let outcome = try await ToolLoopStreaming.run(gateway: gateway, chat: chat, offered: offered, context: context) { event in
                if case .chunk(let chunk) = event {
                    try await send(translator.add(chunk))
                } else if let comment = ToolLoopStreaming.comment(event) {
                    try await writer.write(comment)
                }
            }
            let final: (events: [JSONValue], response: JSONValue)
            switch outcome {
            case .success(let summary): final = translator.finish(usage: summary.usage, switchyard: summary.extensionObject)
            case .failure(let error): final = translator.fail(ErrorResponses.normalize(error))
            }
            turn.keep(final.response, in: gateway)
            try await send(final.events)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    // MARK: Stored responses

    func retrieve(_ id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let stored = try await gateway.storedResponse(id, caller: caller)
            return try JSONBody.response(stored.response, headers: [.switchyardRequestID: requestID])
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    func delete(_ id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            try await gateway.deleteStoredResponse(id, caller: caller)
            let answer: JSONValue = ["id": .string(id), "object": "response.deleted", "deleted": true]
            return try JSONBody.response(answer, headers: [.switchyardRequestID: requestID])
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    /// `GET /v1/responses/{id}/input_items?limit=&order=&after=`: the response's input items, newest
    /// first by default, as OpenAI lists them.
    func inputItems(_ id: String, request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let stored = try await gateway.storedResponse(id, caller: caller)
            let query = request.uri.queryParameters
            var limit = 20
            if let text = query["limit"] {
                guard let value = Int(String(text)), (1...100).contains(value) else {
                    throw SwitchyardError.invalidRequest("limit must be a whole number from 1 to 100.", param: "limit")
                }
                limit = value
            }
            let order = query["order"].map(String.init) ?? "desc"
            guard order == "asc" || order == "desc" else {
                throw SwitchyardError.invalidRequest("order must be asc or desc.", param: "order")
            }
            var items = order == "desc" ? Array(stored.input.reversed()) : stored.input
            if let after = query["after"].map(String.init) {
                guard let position = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                    throw SwitchyardError.invalidRequest("after names no input item of this response.", param: "after")
                }
                items = Array(items[(position + 1)...])
            }
            let page = Array(items.prefix(limit))
            let answer: JSONValue = [
                "object": "list", "data": .array(page),
                "first_id": page.first?["id"] ?? .null, "last_id": page.last?["id"] ?? .null,
                "has_more": .bool(items.count > page.count),
            ]
            return try JSONBody.response(answer, headers: [.switchyardRequestID: requestID])
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }
}
