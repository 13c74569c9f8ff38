import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `POST /v1/completions`: OpenAI's legacy text completions over any configured chat model. Each
/// prompt goes through the chat pipeline as one user message (`TextCompletionRequest.chatRequest`),
/// so routing, caching, budgets and the request log apply; answers come back as `text_completion`.
struct CompletionsRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    func handle(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            let completion = try JSONBody.decode(TextCompletionRequest.self, from: body)
            func context(_ id: String) throws -> CallContext {
                try request.servingContext(requestID: id, caller: caller, protocol: .openai, logger: logger)
            }
            if completion.stream {
                return try await stream(completion, context: context(requestID))
            }
            // One pipeline call per prompt, each with its own request id in the log (and, in an
            // experiment without a user or episode, its own draw; the headers name the first's).
            var outcomes: [CompletionOutcome] = []
            var firstContext = try context(requestID)
            for index in completion.prompts.indices {
                let id = index == 0 ? requestID : CallContext.newRequestID()
                let (chat, assigned) = gateway.assignVariant(completion.chatRequest(prompt: index), context: try context(id))
                if index == 0 { firstContext = assigned }
                outcomes.append(try await gateway.complete(chat, context: assigned))
            }
            return try answer(completion, outcomes: outcomes, context: firstContext)
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    private func answer(_ completion: TextCompletionRequest, outcomes: [CompletionOutcome], context: CallContext) throws -> Response {
        guard let first = outcomes.first, let last = outcomes.last else { throw SwitchyardError.internal("No completion was made.") }
        let choices: [JSONValue] = outcomes.enumerated().map { index, outcome in
            let text = outcome.response.message?.text ?? ""
            return TextCompletionWire.choice(
                text: (completion.echo ? completion.prompts[index] : "") + text, index: index,
                finishReason: outcome.response.choices.first?.finishReason)
        }
        let usage = outcomes.reduce(Usage(promptTokens: 0, completionTokens: 0)) { total, outcome in
            let usage = outcome.response.usage ?? Usage(promptTokens: 0, completionTokens: 0)
            return Usage(
                promptTokens: total.promptTokens + usage.promptTokens, completionTokens: total.completionTokens + usage.completionTokens,
                estimated: total.estimated || usage.estimated)
        }
        let cost = outcomes.reduce(0) { $0 + $1.costUSD }
        // One prompt: the same `switchyard` object chat answers carry. Several: each one's, and the total.
        let switchyard: JSONValue? = outcomes.count == 1
            ? first.response.switchyard
            : ["cost_usd": .double(cost), "completions": .array(outcomes.map { $0.response.switchyard ?? .null })]
        let payload = TextCompletionWire.object(
            id: "cmpl-" + context.requestID.dropFirst(4), created: first.response.created, model: first.response.model,
            choices: choices, usage: usage, switchyard: switchyard)
        var headers = ChatCompletionsRoute.headers(
            context: context, model: last.model, provider: last.provider, trace: last.trace, cache: last.cache,
            similarity: last.cacheSimilarity, admission: last.admission, guardrail: last.guardrail,
            cacheVerify: last.cacheVerify)
        headers[.switchyardCost] = CostFormat.string(cost)
        if usage.estimated { headers[.switchyardUsageEstimated] = "true" }
        return try JSONBody.response(payload, headers: headers)
    }

    private func stream(_ completion: TextCompletionRequest, context: CallContext) async throws -> Response {
        let (chat, context) = gateway.assignVariant(completion.chatRequest(prompt: 0), context: context)
        let outcome = try await gateway.stream(chat, context: context)
        let headers = StreamRelay.headers(context: context, outcome: outcome)
        let gateway = self.gateway
        let id = "cmpl-" + context.requestID.dropFirst(4)
        let echo = completion.echo ? completion.prompts[0] : nil
        let includeUsage = completion.includeUsage
        let body = ResponseBody { writer in
            let encoder = StreamRelay.encoder()
            var created = Int(Date().timeIntervalSince1970)
            var model = outcome.model.upstream
            func frame(_ text: String, finish: FinishReason?) throws -> ByteBuffer {
                let chunk = TextCompletionWire.object(
                    id: id, created: created, model: model,
                    choices: [TextCompletionWire.choice(text: text, index: 0, finishReason: finish)], usage: nil)
                return try SSE.data(chunk, encoder: encoder)
            }
            try await StreamRelay.run(outcome, gateway: gateway, writer: &writer) {
                try echo.map { try frame($0, finish: nil) }
            } chunk: { piece in
                created = piece.created
                model = piece.model
                var buffer = ByteBuffer()
                for choice in piece.choices where choice.index == 0 {
                    let text = choice.delta.content ?? ""
                    if !text.isEmpty || choice.finishReason != nil { buffer.writeImmutableBuffer(try frame(text, finish: choice.finishReason)) }
                }
                return buffer
            } end: { ending, accounting in
                switch ending {
                case .failed(let error):
                    return try StreamRelay.openAIError(error, encoder: encoder)
                case .finished(let usage, let cost):
                    var buffer = ByteBuffer()
                    if includeUsage {
                        let final = TextCompletionWire.object(
                            id: id, created: created, model: model, choices: [], usage: usage,
                            switchyard: accounting.extensionObject(cost: cost, usage: usage))
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
