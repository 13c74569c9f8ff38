import AsyncHTTPClient
import Evaluation
import Foundation
import Gateway
import NIOCore
import SwitchyardCore

/// Eval calls through the gateway in process: the same pipeline as `serve` (routing, caching, guards,
/// budgets, the request log), without an HTTP hop.
struct GatewayEvalCompleter: EvalCompleter {
    let gateway: Gateway
    let caller: Caller

    func complete(_ call: EvalCall) async throws -> EvalResponse {
        let decoded: ChatRequest
        do {
            decoded = try JSONDecoder().decode(ChatRequest.self, from: Data(call.body.jsonString().utf8))
        } catch let error as SwitchyardError {
            throw EvalCallError("the request is invalid: \(error.message)")
        } catch {
            throw EvalCallError("the request is invalid: \(error)")
        }
        if decoded.model.hasPrefix(ConfigurationLoader.workflowModelPrefix) { return try await completeWorkflow(decoded) }
        // An experiment's variant is assigned here (as the HTTP route does) so the results can say which one answered.
        let (chat, context) = gateway.assignVariant(decoded, context: CallContext(caller: caller, clientProtocol: .openai))
        let clock = ContinuousClock()
        let start = clock.now
        let outcome: CompletionOutcome
        do {
            outcome = try await gateway.complete(chat, context: context)
        } catch let error as SwitchyardError {
            throw EvalCallError("HTTP \(error.status): \(error.message)")
        }
        let elapsed = clock.now - start
        let message = outcome.response.message
        var toolCalls: JSONValue?
        if let calls = message?.toolCalls, !calls.isEmpty, let data = try? JSONEncoder().encode(calls) {
            toolCalls = JSONValue.parse(data)
        }
        return EvalResponse(
            output: message?.text ?? "", toolCalls: toolCalls, finishReason: outcome.response.choices.first?.finishReason?.rawValue,
            costUSD: outcome.costUSD, latencyMs: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1_000,
            promptTokens: outcome.response.usage?.promptTokens ?? 0, completionTokens: outcome.response.usage?.completionTokens ?? 0,
            servedModel: outcome.model.name, requestID: context.requestID, variant: context.experiment?.label)
    }
}

extension GatewayEvalCompleter {
    /// `workflow/NAME` as `/v1/chat/completions` serves it: the run's output is the answer, its steps' cost and tokens
    /// the cell's (a run waiting for a person answers with its question, as over HTTP).
    func completeWorkflow(_ chat: ChatRequest) async throws -> EvalResponse {
        let context = CallContext(caller: caller, clientProtocol: .openai)
        let clock = ContinuousClock()
        let start = clock.now
        let completion: WorkflowCompletion
        do {
            let prepared = try await gateway.prepareWorkflowCompletion(chat, context: context)
            completion = try await gateway.completeWorkflow(prepared, request: chat, context: context)
        } catch let error as SwitchyardError {
            throw EvalCallError("HTTP \(error.status): \(error.message)")
        }
        let elapsed = clock.now - start
        let response = completion.response
        return EvalResponse(
            output: response.message?.text ?? "", finishReason: response.choices.first?.finishReason?.rawValue,
            costUSD: completion.costUSD, latencyMs: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1_000,
            promptTokens: response.usage?.promptTokens ?? 0, completionTokens: response.usage?.completionTokens ?? 0,
            servedModel: chat.model, requestID: context.requestID)
    }
}

/// Eval calls to a running gateway's `/v1/chat/completions` (`--url`), over one shared HTTP client.
struct HTTPEvalCompleter: EvalCompleter {
    let url: String
    let key: String?
    let client: HTTPClient

    /// Answers bigger than this are refused rather than held in memory.
    static let maximumAnswerBytes = 32 << 20

    func complete(_ call: EvalCall) async throws -> EvalResponse {
        var request = HTTPClientRequest(url: url + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let key { request.headers.add(name: "authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(string: call.body.jsonString()))
        let clock = ContinuousClock()
        let start = clock.now
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(600))
            bytes = try await response.body.collect(upTo: Self.maximumAnswerBytes)
        } catch {
            throw EvalCallError("cannot reach the gateway at \(url): \(error)")
        }
        let elapsed = clock.now - start
        let json = JSONValue.parse(Data(bytes.readableBytesView)) ?? .null
        guard response.status.code < 300 else {
            let message = json["error"]?["message"]?.stringValue ?? String(buffer: bytes).prefix(300).description
            throw EvalCallError("HTTP \(response.status.code): \(message)")
        }
        guard let choice = json["choices"]?.arrayValue?.first, let message = choice["message"] else {
            throw EvalCallError("the gateway's answer has no choices[0].message")
        }
        let cost = response.headers.first(name: "x-switchyard-cost-usd").flatMap(Double.init).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
            ?? json["switchyard"]?["cost_usd"]?.finiteDoubleValue ?? 0
        let toolCalls = message["tool_calls"].flatMap { $0.arrayValue?.isEmpty == false ? $0 : nil }
        return EvalResponse(
            output: Self.text(message["content"]), toolCalls: toolCalls, finishReason: choice["finish_reason"]?.stringValue,
            costUSD: cost, latencyMs: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1_000,
            promptTokens: json["usage"]?["prompt_tokens"]?.intValue ?? 0, completionTokens: json["usage"]?["completion_tokens"]?.intValue ?? 0,
            servedModel: response.headers.first(name: "x-switchyard-model"), requestID: response.headers.first(name: "x-switchyard-request-id"),
            variant: response.headers.first(name: "x-switchyard-variant"))
    }

    private static func text(_ content: JSONValue?) -> String {
        if let text = content?.stringValue { return text }
        return (content?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
    }
}
