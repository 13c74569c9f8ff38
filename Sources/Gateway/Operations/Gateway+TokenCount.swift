import Providers
import SwitchyardCore

/// A request's input tokens, as `POST /v1/messages/count_tokens` answers them.
public struct InputTokenCount: Sendable, Hashable {
    public var inputTokens: Int
    /// True when the gateway estimated the count (the model's upstream cannot count it exactly).
    public var estimated: Bool
}

extension Gateway {
    /// Counts `request`'s input tokens: exactly, by the upstream's own endpoint, when `request.model`
    /// is a model whose provider can (Anthropic); otherwise with `TokenEstimator`, marked estimated.
    /// Groups and auto routes are estimated too: which deployment would serve is not known until
    /// a request is routed. Nothing is billed or logged; unknown models are a 404 naming the model.
    public func countTokens(_ request: ChatRequest, context: CallContext) async throws -> InputTokenCount {
        let caller = context.caller
        guard GlobPattern.allows(caller.allowedModels, request.model),
            planner.isRoute(request.model) || models[request.model]?.kind == .chat
        else {
            let names = availableRoutes(for: caller).map(\.name) + availableGroups(for: caller).map(\.name)
                + availableModels(for: caller).filter { $0.kind == .chat }.map(\.name)
            throw SwitchyardError.modelNotFound(request.model, available: names)
        }
        try ChatRequestValidator.validate(request)
        if let model = models[request.model], let counter = try provider(for: model) as? any TokenCountingProvider {
            var upstream = request
            upstream.model = model.upstream
            upstream.switchyard = nil
            let tokens = try await counter.countTokens(upstream, options: CallOptions(logger: context.logger))
            return InputTokenCount(inputTokens: tokens, estimated: false)
        }
        return InputTokenCount(inputTokens: TokenEstimator.estimate(request), estimated: true)
    }
}
