import Gateway
import HTTPTypes

extension HTTPField.Name {
    static let switchyardRequestID = Self("x-switchyard-request-id")!
    static let switchyardModel = Self("x-switchyard-model")!
    static let switchyardProvider = Self("x-switchyard-provider")!
    static let switchyardUpstreamModel = Self("x-switchyard-upstream-model")!
    static let switchyardRoute = Self("x-switchyard-route")!
    static let switchyardAttempts = Self("x-switchyard-attempts")!
    static let switchyardCache = Self("x-switchyard-cache")!
    static let switchyardCacheSimilarity = Self("x-switchyard-cache-similarity")!
    /// The semantic verifier's word: `passed`, or `rejected:<check>` (code, identifiers, numbers, …).
    static let switchyardCacheVerify = Self("x-switchyard-cache-verify")!
    static let switchyardCost = Self("x-switchyard-cost-usd")!
    /// The workflow run behind a `workflow/NAME` answer (see `GET /v1/switchyard/workflows/NAME/runs/ID`).
    static let switchyardWorkflowRun = Self("x-switchyard-workflow-run")!
    static let switchyardUsageEstimated = Self("x-switchyard-usage-estimated")!
    /// What the guardrails did: `strict; input=pii:redact(EMAIL_ADDRESS*2); injection=0.02; verdict=changed`.
    static let switchyardGuard = Self("x-switchyard-guard")!
    static let apiKey = Self("x-api-key")!
    static let azureAPIKey = Self("api-key")!
    static let anthropicVersion = Self("anthropic-version")!
    static let retryAfter = Self("retry-after")!
    static let accelBuffering = Self("x-accel-buffering")!
}

extension HTTPField.Name {
    /// `true` on a `count_tokens` answer the gateway estimated rather than had counted upstream.
    static let switchyardTokensEstimated = Self("x-switchyard-tokens-estimated")!
    /// `<asked>-><sent>` when an Anthropic request's `max_tokens` was lowered to what the model allows.
    static let switchyardMaxTokensCapped = Self("x-switchyard-max-tokens-capped")!
    /// Sent by clients: ties requests into an episode (feedback, sticky experiment variants).
    static let switchyardEpisodeID = Self("x-switchyard-episode-id")!
    /// `EXPERIMENT/VARIANT` on answers to a request that was part of an experiment.
    static let switchyardVariant = Self("x-switchyard-variant")!
}

/// OpenAI's `x-ratelimit-*` headers for a request admitted under a key's or team's limits.
enum RateLimitFields {
    static func fields(_ admission: RateLimitAdmission?) -> [HTTPField] {
        guard let admission else { return [] }
        return Gateway.rateLimitHeaders(admission).compactMap { name, value in HTTPField.Name(name).map { HTTPField(name: $0, value: value) } }
    }
}
