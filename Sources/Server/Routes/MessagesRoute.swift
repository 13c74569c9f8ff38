import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `POST /v1/messages`: the Anthropic Messages API over any configured model, translated both ways.
struct MessagesRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    func handle(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            let anthropic = try JSONBody.decode(Anthropic.Request.self, from: body)
            // An experiment's variant first: the cap is the target's.
            let (translated, context) = gateway.assignVariant(
                try AnthropicTranslator.chatRequest(from: anthropic),
                context: try request.servingContext(requestID: requestID, caller: caller, protocol: .anthropic, logger: logger))
            if translated.model.hasPrefix(ConfigurationLoader.workflowModelPrefix) {
                return try await workflow(translated, publicModel: anthropic.model, context: context)
            }
            // A max_tokens past what the model allows is lowered, not refused (see `OutputTokenCap`).
            let (chat, cap) = gateway.capOutputTokens(translated)
            if chat.stream {
                if let offered = try await gateway.serverTools(for: chat, caller: caller) {
                    return Self.marked(streamWithTools(chat, offered: offered, publicModel: anthropic.model, context: context), cap)
                }
                return Self.marked(try await stream(chat, publicModel: anthropic.model, context: context), cap)
            }
            let outcome = try await gateway.complete(chat, context: context)
            var response = AnthropicTranslator.anthropicResponse(from: outcome.response, model: anthropic.model)
            response.switchyard = outcome.response.switchyard
            var headers = ChatCompletionsRoute.headers(
                context: context, model: outcome.model, provider: outcome.provider, trace: outcome.trace,
                cache: outcome.cache, similarity: outcome.cacheSimilarity, admission: outcome.admission, guardrail: outcome.guardrail,
                cacheVerify: outcome.cacheVerify)
            headers[.switchyardCost] = CostFormat.string(outcome.costUSD)
            if outcome.response.usage?.estimated == true { headers[.switchyardUsageEstimated] = "true" }
            return Self.marked(try JSONBody.response(response, headers: headers), cap)
        } catch {
            return ErrorResponses.response(error, protocol: .anthropic, requestID: requestID)
        }
    }

    /// Tells the client its `max_tokens` was lowered: `x-switchyard-max-tokens-capped: asked->sent`.
    static func marked(_ response: Response, _ cap: OutputTokenCap?) -> Response {
        guard let cap else { return response }
        var response = response
        response.headers[.switchyardMaxTokensCapped] = cap.headerValue
        return response
    }

    private func stream(_ chat: ChatRequest, publicModel: String, context: CallContext) async throws -> Response {
        let outcome = try await gateway.stream(chat, context: context)
        let headers = StreamRelay.headers(context: context, outcome: outcome)
        let gateway = self.gateway
        let estimatedInput = TokenEstimator.estimate(chat)
        let body = ResponseBody { writer in
            let encoder = StreamRelay.encoder()
            var translator = AnthropicStreamWriter(
                messageID: context.requestID, model: publicModel, estimatedInputTokens: estimatedInput)
            func frame(_ events: [Anthropic.StreamEvent]) throws -> ByteBuffer {
                var buffer = ByteBuffer()
                for event in events { buffer.writeImmutableBuffer(try SSE.event(event, encoder: encoder)) }
                return buffer
            }
            try await StreamRelay.run(outcome, gateway: gateway, writer: &writer) {
                try frame(translator.start())
            } chunk: { piece in
                try frame(translator.add(piece))
            } end: { ending, accounting in
                switch ending {
                case .failed(let error): return try frame([AnthropicStreamWriter.error(error)])
                case .finished(let usage, let cost):
                    return try frame(translator.finish(usage: usage, switchyard: accounting.extensionObject(cost: cost, usage: usage)))
                }
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
