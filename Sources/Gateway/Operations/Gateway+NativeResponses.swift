import Foundation
import Governance
import Providers
import SwitchyardCore

/// The Responses API passed through to an upstream that speaks it (`responses_api: native`): the
/// body goes upstream as the client sent it (model name mapped), so everything only OpenAI serves
/// (reasoning items, built-in tools, its own stored conversations) works. Keys, rate limits,
/// budgets (reserve the worst case, settle to the reported usage), the request log and cost apply
/// as for every request; routing, fallbacks, caching, grounding and MCP tools do not (they need
/// the translated path: name a group or route, or a model on a translating provider).
public struct NativeResponsesTarget: Sendable {
    public var model: ModelSpec
    let provider: any NativeResponsesProvider
    public var providerName: String { provider.configuration.name }
}

/// A native call in flight: what settling it needs.
public struct NativeResponsesCall: Sendable {
    public var target: NativeResponsesTarget
    public var context: CallContext
    var reservation: Governor.Reservation
    var record: RequestRecord
    public let estimate: ChatRequest
}

extension Gateway {
    /// The native target for a model name, when the caller may use it and its provider speaks the
    /// Responses API itself; nil means "translate".
    public func nativeResponsesTarget(_ name: String, caller: Caller) -> NativeResponsesTarget? {
        guard let model = models[name], model.kind == .chat, GlobPattern.allows(caller.allowedModels, name),
            let provider = providers[model.provider] as? any NativeResponsesProvider, provider.configuration.nativeResponses
        else { return nil }
        return NativeResponsesTarget(model: model, provider: provider)
    }

    /// Admits a native call: rate limits, then the worst case on the caller's budgets (the body's
    /// bytes as prompt tokens, `max_output_tokens` or the model's limits as output).
    public func beginNativeResponse(_ body: JSONValue, target: NativeResponsesTarget, context: CallContext, stream: Bool) async throws -> NativeResponsesCall {
        var estimate = ChatRequest(model: target.model.name, messages: [.user(body.jsonString())])
        if let limit = body["max_output_tokens"]?.doubleValue, limit.isFinite, limit >= 1 {
            estimate.maxTokens = Int(min(limit, Double(Int32.max)))
        }
        estimate.user = body["user"]?.stringValue
        var record = newRecord(estimate, context: context, stream: stream)
        record.endpoint = "responses"
        do {
            let context = try await admit(estimate, context: context)
            let reservation = try await reserveBudget(estimate, steps: [target.model], context: context)
            record.budgetFlag = flagSoftOverruns(reservation, context: context)
            return NativeResponsesCall(target: target, context: context, reservation: reservation, record: record, estimate: estimate)
        } catch {
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw Self.annotate(error, record: record)
        }
    }

    /// The body as the upstream gets it: the upstream's model id.
    static func upstreamBody(_ body: JSONValue, model: ModelSpec) -> JSONValue {
        guard case .object(var object) = body else { return body }
        object["model"] = .string(model.upstream)
        return .object(object)
    }

    /// A non-streamed native call: the upstream's Response with the client's model name and
    /// Switchyard's `switchyard` object.
    public func forwardResponse(_ body: JSONValue, call: NativeResponsesCall) async throws -> (response: JSONValue, cost: Double) {
        do {
            let answer = try await call.target.provider.createResponse(
                Self.upstreamBody(body, model: call.target.model),
                options: CallOptions(logger: call.context.logger))
            guard case .object(var object) = answer else {
                throw SwitchyardError(
                    code: .badUpstreamResponse, message: "Provider '\(call.target.providerName)' answered /responses with something other than an object.",
                    status: 502)
            }
            let usage = Self.responsesUsage(object["usage"], output: object["output"], estimate: call.estimate)
            let cost = finishNativeResponse(call, usage: usage, error: nil)
            object["model"] = .string(call.target.model.name)
            object["switchyard"] = nativeExtension(call, usage: usage, cost: cost)
            return (.object(object), cost)
        } catch {
            _ = finishNativeResponse(call, usage: nil, error: error)
            throw Self.annotate(error, record: call.record)
        }
    }

    /// A streamed native call: the upstream's event bytes, after its status said success.
    public func streamNativeResponse(_ body: JSONValue, call: NativeResponsesCall) async throws -> UpstreamBytes {
        do {
            return try await call.target.provider.streamResponse(
                Self.upstreamBody(body, model: call.target.model), options: CallOptions(logger: call.context.logger))
        } catch {
            _ = finishNativeResponse(call, usage: nil, error: error)
            throw Self.annotate(error, record: call.record)
        }
    }

    /// Settles the budgets and writes the request-log line; returns the cost.
    @discardableResult
    public func finishNativeResponse(_ call: NativeResponsesCall, usage: Usage?, error: (any Error)?) -> Double {
        var record = call.record
        record.provider = call.target.providerName
        record.upstreamModel = call.target.model.upstream
        record.servedModel = call.target.model.name
        let cost = usage.map { call.target.model.price.cost(of: $0) } ?? 0
        governor.settle(call.reservation, actualUSD: cost)
        if let usage { record.fill(usage: usage, cost: cost) }
        if let error {
            record.fail(error, latencyMs: call.context.elapsedMilliseconds)
        } else {
            record.latencyMs = call.context.elapsedMilliseconds
        }
        requestLog.record(record)
        return cost
    }

    public func nativeExtension(_ call: NativeResponsesCall, usage: Usage, cost: Double) -> JSONValue {
        var object = Self.extensionObject(
            context: call.context, model: call.target.model, provider: call.target.providerName, cost: cost, usage: usage).objectValue ?? [:]
        object["native"] = .string(call.target.providerName)
        return .object(object)
    }

    /// Usage from a Responses `usage` object, with upstream numbers checked; estimated from the
    /// output text when missing or implausible.
    public static func responsesUsage(_ value: JSONValue?, output: JSONValue?, estimate: ChatRequest) -> Usage {
        if let input = value?["input_tokens"]?.tokenCount, let output = value?["output_tokens"]?.tokenCount {
            var usage = Usage(promptTokens: input, completionTokens: output)
            usage.cachedTokens = min(input, value?["input_tokens_details"]?["cached_tokens"]?.tokenCount ?? 0)
            usage.reasoningTokens = value?["output_tokens_details"]?["reasoning_tokens"]?.tokenCount
            return usage
        }
        let text = (output?.arrayValue ?? []).flatMap { $0["content"]?.arrayValue ?? [] }.compactMap { $0["text"]?.stringValue }.joined()
        return Usage(promptTokens: TokenEstimator.estimate(estimate), completionTokens: TokenEstimator.estimate(text), estimated: true)
    }
}
