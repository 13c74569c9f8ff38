import Foundation
import Gateway
import Logging
import SwitchyardCore

/// Executes batch requests through the same pipeline as the live endpoints (`gateway.complete`,
/// `gateway.embed`), as the key that made the batch, priced at the batch discount, and writes each
/// result in its API's batch format:
/// - OpenAI: `{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`; a
///   request the gateway answered with an error keeps that answer (status and OpenAI error body)
///   in `response`, a request that never ran has `response: null` and `error: {code, message}`.
/// - Anthropic: `{"custom_id", "result": {"type": "succeeded", "message"} | {"type": "errored",
///   "error": {"type": "error", "error": {...}}} | {"type": "canceled"} | {"type": "expired"}}`.
struct BatchLineExecution: BatchLineExecutor {
    let gateway: Gateway
    let logger: Logger

    func execute(_ line: BatchLine, of batch: BatchJob, caller: Caller) async -> BatchLineResult {
        let requestID = CallContext.newRequestID()
        var context = CallContext(requestID: requestID, caller: caller, clientProtocol: batch.kind == .anthropic ? .anthropic : .openai, logger: logger)
        context.batch = true
        do {
            let body = try await run(line, endpoint: batch.endpoint, context: context)
            return BatchLineResult(state: .succeeded, result: success(line, of: batch, requestID: requestID, body: body))
        } catch {
            let failure = ErrorResponses.normalize(error)
            var retry: Duration?
            if failure.code == .rateLimited {
                retry = failure.retryDelay ?? failure.retryAfter.flatMap { Int($0) }.map { .seconds(max(1, min($0, 60))) } ?? .seconds(2)
            }
            return BatchLineResult(state: .errored, result: answered(line, of: batch, requestID: requestID, error: failure), retryAfter: retry)
        }
    }

    /// The response body of one request, as the live endpoint would answer it.
    private func run(_ line: BatchLine, endpoint: String, context: CallContext) async throws -> JSONValue {
        let data = Data(line.body.utf8)
        switch endpoint {
        case "/v1/chat/completions":
            let chat = try Self.decode(ChatRequest.self, from: data)
            guard !chat.stream else { throw Self.noStreaming }
            return try Self.json(try await gateway.complete(chat, context: context).response)
        case "/v1/embeddings":
            let request = try Self.decode(EmbeddingRequest.self, from: data)
            if let format = request.encodingFormat, format != "float", format != "base64" {
                throw SwitchyardError.invalidRequest("encoding_format must be \"float\" or \"base64\".", param: "encoding_format")
            }
            let admitted = try await gateway.admit(request, context: context)
            let response = try await gateway.embed(request, context: admitted)
            return EmbeddingsRoute.payload(response, base64: request.encodingFormat == "base64")
        case "/v1/responses":
            guard let value = JSONValue.parse(data) else { throw SwitchyardError.invalidRequest("The request body is not valid JSON.") }
            let parsed = try ResponsesRequest.parse(value)
            guard !parsed.stream else { throw Self.noStreaming }
            var history: [JSONValue] = []
            if let previous = parsed.previousResponseID { history = try await gateway.conversation(before: previous, caller: context.caller) }
            let chat = try ResponsesTranslator.chatRequest(parsed, history: history)
            let outcome = try await gateway.complete(chat, context: context)
            let turn = ResponsesRoute.Turn(
                id: ResponsesTranslator.responseID(requestID: context.requestID), request: parsed, createdAt: context.receivedAt,
                owner: context.caller.id)
            let response = ResponsesTranslator.response(
                id: turn.id, request: parsed, createdAt: turn.createdAt, chat: outcome.response, switchyard: outcome.response.switchyard)
            turn.keep(response, in: gateway)
            return response
        case "/v1/messages":
            let anthropic = try Self.decode(Anthropic.Request.self, from: data)
            let chat = try AnthropicTranslator.chatRequest(from: anthropic)
            guard !chat.stream else { throw Self.noStreaming }
            let outcome = try await gateway.complete(chat, context: context)
            var response = AnthropicTranslator.anthropicResponse(from: outcome.response, model: anthropic.model)
            response.switchyard = outcome.response.switchyard
            return try Self.json(response)
        default:
            throw SwitchyardError.invalidRequest("The endpoint '\(endpoint)' cannot be run in a batch.", param: "url")
        }
    }

    static let noStreaming = SwitchyardError.invalidRequest("stream must be false or absent in a batch request.", param: "stream")

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw SwitchyardError.decoding(error)
        }
    }

    static func json(_ value: some Encodable) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try JSONDecoder().decode(JSONValue.self, from: try encoder.encode(value))
    }

    static func lineID() -> String { "batch_req_" + CallContext.newRequestID().dropFirst(4) }

    private func success(_ line: BatchLine, of batch: BatchJob, requestID: String, body: JSONValue) -> JSONValue {
        switch batch.kind {
        case .openai:
            return [
                "id": .string(Self.lineID()), "custom_id": .string(line.customID),
                "response": ["status_code": 200, "request_id": .string(requestID), "body": body], "error": .null,
            ]
        case .anthropic:
            return ["custom_id": .string(line.customID), "result": ["type": "succeeded", "message": body]]
        }
    }

    /// A request the gateway answered with an error.
    private func answered(_ line: BatchLine, of batch: BatchJob, requestID: String, error: SwitchyardError) -> JSONValue {
        var error = error
        error.message = error.message.quotedPrefix(2000)
        switch batch.kind {
        case .openai:
            let body = JSONValue.parse(ErrorResponses.openAIBody(error)) ?? .null
            return [
                "id": .string(Self.lineID()), "custom_id": .string(line.customID),
                "response": ["status_code": .int(Int64(error.status)), "request_id": .string(requestID), "body": body], "error": .null,
            ]
        case .anthropic:
            var body = JSONValue.parse(ErrorResponses.anthropicBody(error))?.objectValue ?? [:]
            body["request_id"] = .string(requestID)
            return ["custom_id": .string(line.customID), "result": ["type": "errored", "error": .object(body)]]
        }
    }

    func failure(_ line: BatchLine, of batch: BatchJob, error: SwitchyardError) -> JSONValue {
        switch batch.kind {
        case .openai:
            let code = error.code == .authentication ? "invalid_api_key" : "batch_interrupted"
            return [
                "id": .string(Self.lineID()), "custom_id": .string(line.customID), "response": .null,
                "error": ["code": .string(code), "message": .string(error.message)],
            ]
        case .anthropic:
            let body = JSONValue.parse(ErrorResponses.anthropicBody(error)) ?? .null
            return ["custom_id": .string(line.customID), "result": ["type": "errored", "error": body]]
        }
    }

    func notRun(_ line: BatchLine, of batch: BatchJob, state: BatchLineState) -> JSONValue {
        switch batch.kind {
        case .openai:
            let (code, message) = state == .expired
                ? ("batch_expired", "The batch expired before this request ran.")
                : ("batch_cancelled", "The batch was cancelled before this request ran.")
            return [
                "id": .string(Self.lineID()), "custom_id": .string(line.customID), "response": .null,
                "error": ["code": .string(code), "message": .string(message)],
            ]
        case .anthropic:
            return ["custom_id": .string(line.customID), "result": ["type": state == .expired ? "expired" : "canceled"]]
        }
    }
}
