import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `POST /v1/chat/completions`: OpenAI Chat Completions, streamed or not, over any configured model.
struct ChatCompletionsRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    func handle(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            let (chat, context) = gateway.assignVariant(
                try JSONBody.decode(ChatRequest.self, from: body),
                context: try request.servingContext(requestID: requestID, caller: caller, protocol: .openai, logger: logger)
                    .declined(
                        request.headers[FastPathHandler.fullPathHeader], admitted: request.headers[FastPathHandler.admittedHeader] != nil,
                        attempt: gateway.takeFastAttempt(request.headers[FastPathHandler.attemptHeader])))
            if chat.model.hasPrefix(ConfigurationLoader.workflowModelPrefix) {
                return try await workflow(chat, context: context)
            }
            if chat.stream {
                if let offered = try await gateway.serverTools(for: chat, caller: caller) {
                    return streamWithTools(chat, offered: offered, context: context)
                }
                return try await stream(chat, context: context)
            }
            let outcome = try await gateway.complete(chat, context: context)
            var headers = Self.headers(
                context: context, model: outcome.model, provider: outcome.provider, trace: outcome.trace, cache: outcome.cache,
                similarity: outcome.cacheSimilarity, admission: outcome.admission, guardrail: outcome.guardrail,
                cacheVerify: outcome.cacheVerify)
            headers[.switchyardCost] = CostFormat.string(outcome.costUSD)
            if outcome.response.usage?.estimated == true { headers[.switchyardUsageEstimated] = "true" }
            return try JSONBody.response(outcome.response, headers: headers)
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    static func headers(
        context: CallContext, model: ModelSpec, provider: String, trace: RouteTrace, cache: String? = nil,
        similarity: Double? = nil, admission: RateLimitAdmission? = nil, guardrail: GuardTrace? = nil, cacheVerify: String? = nil
    ) -> HTTPFields {
        headers(
            requestID: context.requestID, variant: context.experiment?.label, model: model, provider: provider, trace: trace, cache: cache,
            similarity: similarity, admission: admission, guardrail: guardrail, cacheVerify: cacheVerify)
    }

    static func headers(
        requestID: String, variant: String?, model: ModelSpec, provider: String, trace: RouteTrace, cache: String? = nil,
        similarity: Double? = nil, admission: RateLimitAdmission? = nil, guardrail: GuardTrace? = nil, cacheVerify: String? = nil
    ) -> HTTPFields {
        var fields: HTTPFields = [
            .switchyardRequestID: requestID, .switchyardAttempts: String(trace.attempts.count),
        ]
        // Names are configured ones here, but a route summary grows with the attempts: all bounded.
        if let name = HeaderValue.bounded(model.name) { fields[.switchyardModel] = name }
        if let name = HeaderValue.bounded(provider) { fields[.switchyardProvider] = name }
        if let name = HeaderValue.bounded(model.upstream) { fields[.switchyardUpstreamModel] = name }
        let route = trace.summary  // printable ASCII already
        fields[.switchyardRoute] = route.utf8.count <= HeaderValue.maximumBytes ? route : String(route.prefix(HeaderValue.maximumBytes - 3)) + "..."
        if let cache { fields[.switchyardCache] = cache }
        if let similarity { fields[.switchyardCacheSimilarity] = String(format: "%.4f", similarity) }
        if let cacheVerify { fields[.switchyardCacheVerify] = cacheVerify }  // a fixed word and a check's name: ASCII
        fields.append(contentsOf: RateLimitFields.fields(admission))
        if let label = variant { fields[.switchyardVariant] = label }  // checked names, ASCII
        if let summary = guardrail?.summary {
            // Policy names are configured ones; the summary is ASCII, and bounded like the route's.
            fields[.switchyardGuard] = summary.utf8.count <= HeaderValue.maximumBytes ? summary : String(summary.prefix(HeaderValue.maximumBytes - 3)) + "..."
        }
        return fields
    }

    private func stream(_ chat: ChatRequest, context: CallContext) async throws -> Response {
        let outcome = try await gateway.stream(chat, context: context)
        let headers = StreamRelay.headers(context: context, outcome: outcome)
        let gateway = self.gateway
        let includeUsage = chat.includeUsage
        let body = ResponseBody { writer in
            let encoder = StreamRelay.encoder()
            var lastChunk: ChatChunk?
            try await StreamRelay.run(outcome, gateway: gateway, writer: &writer) { piece in
                lastChunk = piece
                var chunk = piece
                if chunk.usage != nil {
                    chunk.usage = nil  // the gateway sends its own usage chunk, with cost, at the end
                    if chunk.choices.isEmpty { return nil }
                }
                return try SSE.data(chunk, encoder: encoder)
            } end: { ending, accounting in
                switch ending {
                case .failed(let error):
                    return try StreamRelay.openAIError(error, encoder: encoder)
                case .finished(let usage, let cost):
                    var buffer = ByteBuffer()
                    if includeUsage {
                        let final = ChatChunk(
                            id: lastChunk?.id ?? "", created: lastChunk?.created ?? Int(Date().timeIntervalSince1970),
                            model: lastChunk?.model ?? outcome.model.upstream, choices: [], usage: usage,
                            switchyard: accounting.extensionObject(cost: cost, usage: usage))
                        buffer.writeImmutableBuffer(try SSE.data(final, encoder: encoder))
                    } else if let citations = accounting.grounding?.citations {
                        // Grounded: the citations arrive in a last chunk with no choices, like the usage chunk.
                        let final = ChatChunk(
                            id: lastChunk?.id ?? "", created: lastChunk?.created ?? Int(Date().timeIntervalSince1970),
                            model: lastChunk?.model ?? outcome.model.upstream, choices: [], usage: nil, switchyard: ["citations": citations])
                        buffer.writeImmutableBuffer(try SSE.data(final, encoder: encoder))
                    }
                    buffer.writeImmutableBuffer(SSE.done)
                    return buffer
                }
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// Dollar amounts as plain decimals (no exponent), precise to a millionth of a cent.
enum CostFormat {
    static func string(_ value: Double) -> String {
        String(format: "%.10f", value)
    }
}
