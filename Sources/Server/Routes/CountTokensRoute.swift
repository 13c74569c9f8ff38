import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import SwitchyardCore

/// `POST /v1/messages/count_tokens`: Anthropic's token counting, `{"input_tokens": N}`, over any
/// configured model. Exact from the upstream when the model is an Anthropic one; otherwise the
/// gateway's estimate, marked with `x-switchyard-tokens-estimated: true`. Errors in Anthropic's envelope.
struct CountTokensRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    func handle(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            let anthropic = try JSONBody.decode(Anthropic.Request.self, from: try Self.withMaxTokens(body))
            let chat = try AnthropicTranslator.chatRequest(from: anthropic)
            let context = CallContext(requestID: requestID, caller: caller, clientProtocol: .anthropic, logger: logger)
            let count = try await gateway.countTokens(chat, context: context)
            var headers: HTTPFields = [.switchyardRequestID: requestID]
            if let name = HeaderValue.bounded(anthropic.model) { headers[.switchyardModel] = name }
            if count.estimated { headers[.switchyardTokensEstimated] = "true" }
            return try JSONBody.response(JSONValue.object(["input_tokens": .int(Int64(count.inputTokens))]), headers: headers)
        } catch {
            return ErrorResponses.response(error, protocol: .anthropic, requestID: requestID)
        }
    }

    /// `count_tokens` takes no `max_tokens`, which the Messages request type requires: a body
    /// without one gets a placeholder (it is not sent upstream). Anything but a JSON object is left
    /// for the decoder to refuse with its usual message.
    static func withMaxTokens(_ body: ByteBuffer) throws -> ByteBuffer {
        guard case .object(var fields)? = JSONValue.parse(Data(buffer: body)), !fields.keys.contains("max_tokens") else { return body }
        fields["max_tokens"] = 1
        return try JSONBody.encode(JSONValue.object(fields))
    }
}
