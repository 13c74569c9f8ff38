import SwitchyardCore

/// An Anthropic request's `max_tokens` lowered to what the model can give. Anthropic clients must
/// send `max_tokens`, and many send a large constant (LiteLLM: 128000 for models it does not know);
/// refusing those would make a working model look broken, so the gateway sends the most the model
/// allows and says so (`x-switchyard-max-tokens-capped: 128000->8192`). OpenAI-protocol requests
/// are left as they are: there the field is optional and a client that sets it means it.
public struct OutputTokenCap: Sendable, Hashable {
    public var asked: Int
    public var capped: Int

    /// `asked->capped`, for the response header.
    public var headerValue: String { "\(asked)->\(capped)" }

    /// The most output `model` allows after a prompt of `promptTokens`: its `max_output_tokens`, and
    /// what its context window leaves. Nil when it sets neither, or when the prompt alone fills the
    /// window (that request is refused as too long, and capping would only hide why).
    static func allowance(_ model: ModelSpec, promptTokens: Int) -> Int? {
        var limits: [Int] = []
        if let maximum = model.maxOutputTokens { limits.append(maximum) }
        if let window = model.contextWindow {
            let left = window - promptTokens
            guard left >= 1 else { return nil }
            limits.append(left)
        }
        return limits.min()
    }

    /// The cap for a request asking `asked` when the most allowed is `allowance`; nil when it fits.
    static func cap(asked: Int?, allowance: Int?) -> OutputTokenCap? {
        guard let asked, let allowance, allowance < asked else { return nil }
        return OutputTokenCap(asked: asked, capped: allowance)
    }
}

extension RoutePlanner {
    /// The most output any deployment `name` can reach allows (a model; a group's deployments,
    /// fallbacks and context fallback; an auto route's tiers): the request is capped to the
    /// roomiest, and the planner still drops the deployments it does not fit. `Int.max` when one of
    /// them sets no limit; nil for an unknown name.
    func outputAllowance(_ name: String, promptTokens: Int, visited: inout Set<String>) -> Int? {
        guard visited.insert(name).inserted else { return nil }  // a cycle adds nothing
        if let model = models[name] { return OutputTokenCap.allowance(model, promptTokens: promptTokens) ?? Int.max }
        var targets: [String] = []
        if let group = groups[name] {
            targets = group.deployments.map(\.model) + group.fallbacks
            if let fallback = group.contextFallback { targets.append(fallback) }
        } else if let route = autoRoutes[name] {
            targets = route.tiers.flatMap(\.targets)
        }
        var best: Int?
        for target in targets {
            if let allowance = outputAllowance(target, promptTokens: promptTokens, visited: &visited) {
                best = max(best ?? allowance, allowance)
            }
        }
        return best
    }
}

extension Gateway {
    /// `request` with its output cap lowered to what the model (or the roomiest deployment of a
    /// group or route) allows, and the cap applied; the request unchanged and nil when it fits, when
    /// the model sets no limits, or when the name is unknown (the pipeline then refuses it as usual).
    public func capOutputTokens(_ request: ChatRequest) -> (request: ChatRequest, cap: OutputTokenCap?) {
        var visited: Set<String> = []
        let prompt = TokenEstimator.estimate(request)
        guard let allowance = planner.outputAllowance(request.model, promptTokens: prompt, visited: &visited),
            allowance != Int.max, let cap = OutputTokenCap.cap(asked: request.outputTokenLimit, allowance: allowance)
        else { return (request, nil) }
        var capped = request
        if capped.maxCompletionTokens != nil { capped.maxCompletionTokens = cap.capped } else { capped.maxTokens = cap.capped }
        return (capped, cap)
    }
}
