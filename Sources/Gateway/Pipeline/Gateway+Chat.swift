import Caching
import Foundation
import Tracing
import Governance
import Guardrails
import Logging
import Providers
import Routing
import SwitchyardCore

/// A finished non-streamed completion.
public struct CompletionOutcome: Sendable {
    public var response: ChatResponse
    public var model: ModelSpec
    public var provider: String
    public var costUSD: Double
    public var trace: RouteTrace
    /// How the cache took part (`hit-exact`, `hit-semantic`, `miss`, `bypass`), nil when off.
    public var cache: String?
    public var cacheSimilarity: Double?
    /// The rate-limit admission (for the `x-ratelimit-*` headers).
    public var admission: RateLimitAdmission?
    /// What the guardrails saw and did (the `x-switchyard-guard` header); nil when no policy applied.
    public var guardrail: GuardTrace? = nil
    /// The prompt the request log kept (`request_log.store_prompts`), for the tool loop's own line.
    var prompt: String? = nil
    /// The semantic verifier's word (`passed`, `rejected:<check>`), nil when it was not asked.
    public var cacheVerify: String? = nil
}

/// A started stream (its first chunk already received) and its accounting.
public struct StreamOutcome: Sendable {
    public var chunks: RoutedChunkStream
    public var model: ModelSpec
    public var provider: String
    public var accounting: StreamAccounting
    public var trace: RouteTrace { accounting.record.route ?? RouteTrace(requested: model.name, kind: "model") }
    public var admission: RateLimitAdmission? { accounting.context.admission }
    public var cache: String? { accounting.record.cache }
    public var cacheSimilarity: Double?
    /// What the input guard saw and did (the output guard's verdicts reach the request log only).
    public var guardrail: GuardTrace? { accounting.record.guardrail }
    /// The semantic verifier's word (`passed`, `rejected:<check>`), nil when it was not asked.
    public var cacheVerify: String? = nil
}

extension Gateway {
    /// A non-streamed completion over the planned deployments, with retries and fallbacks; usage,
    /// cost and the `switchyard` extension filled in.
    public func complete(_ request: ChatRequest, context: CallContext) async throws -> CompletionOutcome {
        try await withSpan(Self.spanName(request), ofKind: .internal) { span in
            Self.describe(request, context: context, on: span)
            let outcome = try await completeUntraced(request, context: context)
            Self.describe(outcome, on: span)
            return outcome
        }
    }

    private func completeUntraced(_ request: ChatRequest, context: CallContext) async throws -> CompletionOutcome {
        let (request, assigned) = assignVariant(request, context: context)
        let asked = request
        let context = try await admitOrLog(request, context: assigned, stream: false)
        if let offered = try await serverTools(for: request, caller: context.caller) {
            return try await completeWithTools(request, offered: offered, context: context)
        }
        var record = newRecord(request, context: context, stream: false)
        var reservation = Governor.Reservation.none
        do {
            let (grounded, grounding) = try await withSpan("switchyard.ground") { _ in try await ground(asked, context: context) }
            record.retrieval = grounding?.trace
            var guarded = try await withSpan("switchyard.guard") { _ in
                try await guardInput(grounded, original: asked, context: context, record: &record)
            }
            let request = guarded?.request ?? grounded
            record.prompt = loggedPrompt(request, guarded: guarded)
            let (plan, estimatedTokens, lookup) = try await withSpan("switchyard.route_and_cache") { span in
                let begun = try await begin(request, context: context, localOnly: guarded?.routeLocal ?? false, record: &record)
                span.attributes["switchyard.cache"] = begun.lookup?.label ?? "off"
                if let verification = begun.lookup?.verification { span.attributes["switchyard.cache.verify"] = verification }
                span.attributes["switchyard.route.deployments"] = begun.plan.steps.map(\.model.name).joined(separator: ",")
                return begun
            }
            if case .hit(let answer)? = lookup {
                let model = cacheModel(plan, request: request, answer: answer, record: &record)
                var response = Self.rehydrate(answer.response, with: guarded?.rehydrator)
                response.id = "chatcmpl-" + context.requestID.dropFirst(4)
                response.created = Int(Date().timeIntervalSince1970)
                let usage = response.usage ?? Usage(promptTokens: 0, completionTokens: 0)
                response.switchyard = Self.addCitations(grounding, to: Self.extensionObject(
                    context: context, model: model, provider: "cache", cost: 0, usage: usage, trace: nil, cache: answer))
                record.fill(usage: usage, cost: 0)
                record.latencyMs = context.elapsedMilliseconds
                requestLog.record(record)
                return CompletionOutcome(
                    response: response, model: model, provider: "cache", costUSD: 0, trace: plan.trace,
                    cache: answer.kind.rawValue, cacheSimilarity: answer.similarity, admission: context.admission,
                    guardrail: record.guardrail, prompt: record.prompt, cacheVerify: lookup?.verification)
            }
            reservation = try await reserveBudget(request, steps: plan.steps.map(\.model), context: context)
            record.budgetFlag = flagSoftOverruns(reservation, context: context)
            let deadline = plan.timeout.map { context.startedAt.advanced(by: $0) }
            let won = try await firstSuccess(
                plan, estimatedTokens: estimatedTokens, deadline: deadline, record: &record, prior: context.fastAttempt
            ) { step, provider in
                try await provider.complete(
                    upstreamRequest(request, model: step.model),
                    options: CallOptions(logger: context.logger, timeout: remaining(until: deadline)))
            }
            let (step, provider) = (won.step, won.provider)
            var response = won.result
            let usage = Self.usableUsage(response.usage, response: response) ?? Self.estimateUsage(request: request, response: response)
            health.end(step.model.name, outcome: .success(latencyMs: milliseconds(since: won.started), ttftMs: nil, tokens: usage.totalTokens))
            record.route?.attempts.append(attempt(step, provider: provider.name, retry: won.retry, status: 200, started: won.started))
            response.usage = usage
            // Stage 7, guard out: the schema (re-asks go to the same deployment) and personal data.
            var guardFailure: (any Error)?
            if var current = guarded {
                do {
                    response = try await guardOutput(response, guarded: &current, request: request) { reasked in
                        try await provider.complete(
                            upstreamRequest(reasked, model: step.model),
                            options: CallOptions(logger: context.logger, timeout: remaining(until: deadline)))
                    }
                } catch {
                    guardFailure = error
                }
                guarded = current
                record.guardrail = current.trace
            }
            let billed = response.usage ?? usage
            let cost = step.model.cost(of: billed, batch: context.batch)
            governor.settle(reservation, actualUSD: cost)
            reservation = .none
            response.switchyard = Self.addCitations(grounding, to: Self.extensionObject(
                context: context, model: step.model, provider: provider.name, cost: cost, usage: billed, trace: record.route))
            record.provider = provider.name
            record.upstreamModel = step.model.upstream
            record.servedModel = step.model.name
            record.fill(usage: billed, cost: cost)
            if let guardFailure { throw guardFailure }
            record.latencyMs = context.elapsedMilliseconds
            requestLog.record(record)
            // The cache keeps the answer as it went upstream and came back: placeholders, not the client's values.
            if let fill = lookup?.fill { cache?.store(response, for: fill, costUSD: cost) }
            return CompletionOutcome(
                response: Self.rehydrate(response, with: guarded?.rehydrator), model: step.model, provider: provider.name, costUSD: cost,
                trace: record.route ?? plan.trace, cache: lookup?.label, admission: context.admission, guardrail: record.guardrail,
                prompt: record.prompt, cacheVerify: lookup?.verification)
        } catch {
            governor.settle(reservation, actualUSD: 0)
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw Self.annotate(error, record: record)
        }
    }

    /// Starts a stream over the planned deployments. Every failure before the first chunk moves on
    /// to the next attempt invisibly; the returned stream already holds that first chunk. The
    /// caller drives the chunks, feeds them to `accounting`, and calls `finish`.
    public func stream(_ request: ChatRequest, context: CallContext) async throws -> StreamOutcome {
        // The span covers the stream's start (to its first chunk that carries output); the log record has the rest.
        try await withSpan(Self.spanName(request), ofKind: .internal) { span in
            Self.describe(request, context: context, on: span)
            span.attributes["gen_ai.request.stream"] = true
            let outcome = try await streamUntraced(request, context: context)
            span.attributes["gen_ai.provider.name"] = outcome.provider
            span.attributes["gen_ai.response.model"] = outcome.model.upstream ?? outcome.model.name
            return outcome
        }
    }

    private func streamUntraced(_ request: ChatRequest, context: CallContext) async throws -> StreamOutcome {
        let (request, assigned) = assignVariant(request, context: context)
        let asked = request
        let context = try await admitOrLog(request, context: assigned, stream: true)
        var record = newRecord(request, context: context, stream: true)
        var reservation = Governor.Reservation.none
        do {
            let (grounded, grounding) = try await withSpan("switchyard.ground") { _ in try await ground(asked, context: context) }
            record.retrieval = grounding?.trace
            let guarded = try await withSpan("switchyard.guard") { _ in
                try await guardInput(grounded, original: asked, context: context, record: &record)
            }
            let request = guarded?.request ?? grounded
            record.prompt = loggedPrompt(request, guarded: guarded)
            let (plan, estimatedTokens, lookup) = try await withSpan("switchyard.route_and_cache") { span in
                let begun = try await begin(request, context: context, localOnly: guarded?.routeLocal ?? false, record: &record)
                span.attributes["switchyard.cache"] = begun.lookup?.label ?? "off"
                if let verification = begun.lookup?.verification { span.attributes["switchyard.cache.verify"] = verification }
                span.attributes["switchyard.route.deployments"] = begun.plan.steps.map(\.model.name).joined(separator: ",")
                return begun
            }
            if case .hit(let answer)? = lookup {
                let model = cacheModel(plan, request: request, answer: answer, record: &record)
                let chunks = Self.replay(answer.response, id: "chatcmpl-" + context.requestID.dropFirst(4))
                var accounting = StreamAccounting(
                    request: request, model: model, context: context, record: record, attemptStartedAt: .now)
                accounting.cacheHit = answer
                accounting.grounding = grounding
                var replay = RoutedChunkStream(replay: chunks)
                if let guarded, let rehydrator = guarded.rehydrator {
                    replay = replay.guarded(by: GuardStreamFilter(rehydrator: rehydrator, policy: guarded.policy))
                }
                return StreamOutcome(
                    chunks: replay, model: model, provider: "cache", accounting: accounting, cacheSimilarity: answer.similarity,
                    cacheVerify: lookup?.verification)
            }
            reservation = try await reserveBudget(request, steps: plan.steps.map(\.model), context: context)
            record.budgetFlag = flagSoftOverruns(reservation, context: context)
            let deadline = plan.timeout.map { context.startedAt.advanced(by: $0) }
            let won = try await firstSuccess(
                plan, estimatedTokens: estimatedTokens, deadline: deadline, record: &record, prior: context.fastAttempt
            ) { step, provider in
                let chunks = try await provider.stream(
                    upstreamRequest(request, model: step.model),
                    options: CallOptions(logger: context.logger, timeout: remaining(until: deadline)))
                // Hold chunks until one carries output: a failure before that is still invisible
                // to the client and falls back like any other.
                var iterator = chunks.makeAsyncIterator()
                var prefix: [ChatChunk] = []
                while true {
                    guard let chunk = try await iterator.next() else {
                        if prefix.isEmpty {
                            throw SwitchyardError.emptyStream(provider: provider.name)
                        }
                        break
                    }
                    prefix.append(chunk)
                    if chunk.carriesOutput { break }
                }
                return RoutedChunkStream(prefix: prefix, rest: iterator)
            }
            let (step, provider) = (won.step, won.provider)
            record.route?.attempts.append(attempt(step, provider: provider.name, retry: won.retry, status: 200, started: won.started))
            record.provider = provider.name
            record.upstreamModel = step.model.upstream
            record.servedModel = step.model.name
            var accounting = StreamAccounting(
                request: request, model: step.model, context: context, record: record, attemptStartedAt: won.started)
            accounting.cacheFill = lookup?.fill
            accounting.grounding = grounding
            accounting.reservation = reservation
            reservation = .none  // settled by `finish`
            var chunks = won.result
            if let guarded {
                let filter = GuardStreamFilter(guarded: guarded, detector: guardDetector, window: configuration.guardrails.streamWindow)
                chunks = chunks.guarded(by: filter)
                accounting.guardFilter = chunks.outputGuard
            }
            return StreamOutcome(
                chunks: chunks, model: step.model, provider: provider.name, accounting: accounting, cacheVerify: lookup?.verification)
        } catch {
            governor.settle(reservation, actualUSD: 0)
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw Self.annotate(error, record: record)
        }
    }

    /// Closes the books on a stream: final usage and cost, deployment health, and the log record.
    @discardableResult
    public func finish(_ accounting: StreamAccounting, error: (any Error)? = nil) -> (usage: Usage, cost: Double) {
        let usage = accounting.finalUsage
        if accounting.cacheHit != nil {
            var record = accounting.record
            record.fill(usage: usage, cost: 0)
            record.latencyMs = accounting.context.elapsedMilliseconds
            record.ttftMs = accounting.timeToFirstTokenMs
            if let error { record.error = Self.describe(error) }
            requestLog.record(record)
            return (usage, 0)
        }
        let cost = accounting.model.cost(of: usage, batch: accounting.context.batch)
        governor.settle(accounting.reservation, actualUSD: cost)
        var record = accounting.record
        if let filter = accounting.guardFilter, var trace = record.guardrail {
            for finding in filter.findings { trace.add(finding) }
            if let verdict = filter.verdict {
                trace.verdict = verdict
            } else if trace.verdict == "pass", !filter.findings.isEmpty {
                trace.verdict = "flagged"
            }
            record.guardrail = trace
        }
        record.fill(usage: usage, cost: cost)
        record.latencyMs = accounting.context.elapsedMilliseconds
        record.ttftMs = accounting.timeToFirstTokenMs
        let outcome: DeploymentHealth.Outcome
        if let error {
            record.error = Self.describe(error)
            let failure = error as? SwitchyardError
            outcome = failure.map { $0.isRetryable ? .failure : .neutral } ?? .neutral
        } else {
            outcome = .success(
                latencyMs: milliseconds(since: accounting.attemptStartedAt), ttftMs: accounting.attemptTimeToFirstTokenMs,
                tokens: usage.totalTokens)
        }
        health.end(accounting.model.name, outcome: outcome)
        requestLog.record(record)
        if error == nil, let fill = accounting.cacheFill {
            var response = accounting.accumulator.response
            response.usage = usage
            // A masked request's answer is cached with its placeholders, as non-streamed answers are.
            if let filter = accounting.guardFilter, filter.rehydrator != nil, !response.choices.isEmpty {
                response.choices[0].message.content = .text(filter.cacheText)
            }
            cache?.store(response, for: fill, costUSD: cost)
        }
        return (usage, cost)
    }

    /// The plan a request would get, without calling anyone: for dry runs and benchmarks.
    public func previewRoute(_ request: ChatRequest, context: CallContext) async throws -> (deployments: [String], trace: RouteTrace) {
        let (plan, _) = try await prepare(request, context: context)
        return (plan.steps.map(\.model.name), plan.trace)
    }

    /// Upstream usage, unless it is missing or all zeros while the answer says something.
    static func usableUsage(_ usage: Usage?, response: ChatResponse) -> Usage? {
        guard let usage, usage.isPlausible else { return nil }
        let said = !(response.message?.text.isEmpty ?? true) || !(response.message?.toolCalls ?? []).isEmpty
        return usage.promptTokens == 0 && usage.completionTokens == 0 && said ? nil : usage
    }

    /// Adds the model and provider to an error, for the response headers.
    static func annotate(_ error: any Error, record: RequestRecord) -> any Error {
        guard var failure = error as? SwitchyardError else { return error }
        failure.model = failure.model ?? record.model
        failure.provider = failure.provider ?? record.route?.attempts.last?.provider ?? record.provider
        return failure
    }

    // MARK: Steps

    /// Validation, the route plan and the cache lookup: what both entry points do first.
    private func begin(_ request: ChatRequest, context: CallContext, localOnly: Bool = false, record: inout RequestRecord) async throws
        -> (plan: RoutePlanner.Plan, estimatedTokens: Int, lookup: CacheLookup?)
    {
        let (plan, estimatedTokens) = try await prepare(request, context: context, localOnly: localOnly)
        record.route = plan.trace
        if let reason = context.fullPathReason { record.route?.notes.append("full path: \(reason)") }
        let lookup = try await cacheLookup(request, context: context)
        record.cache = lookup?.label
        return (plan, estimatedTokens, lookup)
    }

    /// Books a cache hit on the record; returns the model to report it under.
    func cacheModel(_ plan: RoutePlanner.Plan, request: ChatRequest, answer: CachedAnswer, record: inout RequestRecord)
        -> ModelSpec
    {
        record.provider = "cache"
        record.upstreamModel = answer.response.model
        record.savedUSD = answer.savedCostUSD
        let model = plan.steps.first?.model ?? ModelSpec(name: request.model, provider: "cache", price: .init(input: 0, output: 0))
        record.servedModel = model.name
        return model
    }

    /// Tries the plan's deployments in order, with each step's retries and backoff, until `attempt`
    /// succeeds. Failures are recorded on the trace and in deployment health; client errors end the
    /// request at once; the deadline bounds the whole loop.
    private func firstSuccess<Result>(
        _ plan: RoutePlanner.Plan, estimatedTokens: Int, deadline: ContinuousClock.Instant?, record: inout RequestRecord,
        prior: FastAttempt? = nil, _ attempt: (RoutePlanner.Step, any Provider) async throws -> Result
    ) async throws -> (result: Result, step: RoutePlanner.Step, provider: any Provider, retry: Int, started: ContinuousClock.Instant) {
        var lastError: (any Error)?
        for (position, step) in plan.steps.enumerated() {
            let provider = try provider(for: step.model)
            var firstRetry = 0
            if position == 0, let prior, prior.deployment == step.model.name {
                // The fast path's attempt was this step's first: the trace, health and budget have it already.
                record.route?.attempts.append(prior.attempt)
                lastError = prior.error
                guard try shouldContinue(after: prior.error, deadline: deadline) else { throw prior.error }
                firstRetry = 1
                if step.retry.attempts > 1 { try await backoff(step.retry, retry: 1, error: prior.error, deadline: deadline) }
            }
            for retry in firstRetry..<max(firstRetry, step.retry.attempts) {
                var admitted = health.begin(step.model.name, estimatedTokens: estimatedTokens, force: step.panic)
                if !admitted, panicAllowed(plan, from: position) {
                    // Every deployment left in the plan is open now: try this one, whose cool-down ends
                    // first, rather than refuse the request (see `RoutePlanner.panicStep`).
                    record.route?.notes.append("\(step.model.name): every breaker left is open; tried anyway (panic)")
                    admitted = health.begin(step.model.name, estimatedTokens: estimatedTokens, force: true)
                }
                guard admitted else {
                    record.route?.notes.append("\(step.model.name): circuit breaker opened before the attempt")
                    break
                }
                let started = ContinuousClock.now
                do {
                    // One client span per upstream attempt (GenAI conventions); the HTTP client's span and the
                    // `traceparent` it sends upstream are its children.
                    let result = try await withSpan("chat \(step.model.upstream ?? step.model.name)", ofKind: .client) { span in
                        span.attributes["gen_ai.operation.name"] = "chat"
                        span.attributes["gen_ai.provider.name"] = provider.name
                        span.attributes["gen_ai.request.model"] = step.model.upstream ?? step.model.name
                        span.attributes["switchyard.deployment"] = step.model.name
                        span.attributes["switchyard.retry"] = retry
                        return try await attempt(step, provider)
                    }
                    return (result, step, provider, retry, started)
                } catch {
                    let failure = settle(error, step: step, provider: provider.name, retry: retry, started: started, record: &record)
                    lastError = failure
                    guard try shouldContinue(after: failure, deadline: deadline) else { throw failure }
                    if retry + 1 < step.retry.attempts {
                        try await backoff(step.retry, retry: retry + 1, error: failure, deadline: deadline)
                    }
                }
            }
        }
        throw lastError ?? noDeployment(plan)
    }

    /// True when the step at `position` is refused by its breaker, no later step's breaker would let
    /// a request through, and its own cool-down ends first among them.
    private func panicAllowed(_ plan: RoutePlanner.Plan, from position: Int) -> Bool {
        let remaining = plan.steps[position...]
        guard !remaining.dropFirst().contains(where: { health.snapshot($0.model.name).available }) else { return false }
        let mine = health.openUntil(plan.steps[position].model.name) ?? .now
        return remaining.dropFirst().allSatisfy { mine <= (health.openUntil($0.model.name) ?? .now) }
    }

    func newRecord(_ request: ChatRequest, context: CallContext, stream: Bool) -> RequestRecord {
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name,
            clientProtocol: context.clientProtocol.rawValue, endpoint: "chat", model: request.model, stream: stream)
        record.ledger(context.caller, user: request.user)
        record.mark(context)
        return record
    }

    /// Admits the request under its rate limits (once); a refusal is logged like any failed request.
    private func admitOrLog(_ request: ChatRequest, context: CallContext, stream: Bool) async throws -> CallContext {
        do {
            return try await admit(request, context: context)
        } catch {
            var record = newRecord(request, context: context, stream: stream)
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw Self.annotate(error, record: record)
        }
    }

    /// The soft budgets a reservation passed, for the request log; each such request is also a
    /// warning in the gateway's log (the alert an operator greps or ships).
    func flagSoftOverruns(_ reservation: Governor.Reservation, context: CallContext) -> String? {
        guard !reservation.softOverruns.isEmpty else { return nil }
        let flag = "over soft budget: " + reservation.softOverruns.joined(separator: ", ")
        logger.warning(
            "request let through over a soft budget",
            metadata: ["request_id": "\(context.requestID)", "key": "\(context.caller.name)", "budgets": "\(reservation.softOverruns.joined(separator: ","))"])
        return flag
    }

    private func prepare(_ request: ChatRequest, context: CallContext, localOnly: Bool = false) async throws -> (RoutePlanner.Plan, Int) {
        let caller = context.caller
        try ChatRequestValidator.validate(request)
        // An experiment's variant may aim at a target the key could not name itself (as a route's tiers may).
        guard GlobPattern.allows(caller.allowedModels, request.model) || context.experiment?.target == request.model,
            planner.isRoute(request.model) || models[request.model]?.kind == .chat
        else {
            if models[request.model]?.kind == .embedding, GlobPattern.allows(caller.allowedModels, request.model) {
                throw SwitchyardError.invalidRequest(
                    "The model '\(request.model)' is an embedding model and cannot serve chat requests.", param: "model")
            }
            let names = availableExperiments(for: caller).map(\.name) + availableRoutes(for: caller).map(\.name) + availableGroups(for: caller).map(\.name) + availableModels(for: caller).filter { $0.kind == .chat }.map(\.name)
            throw SwitchyardError.modelNotFound(request.model, available: names)
        }
        var constraints = RouteConstraints()
        if let header = context.routeHeader {
            guard let value = JSONValue.parse(header) else {
                throw SwitchyardError.invalidRequest("The x-switchyard-route header must be a JSON object.", param: "x-switchyard-route")
            }
            constraints = constraints.merged(with: try RouteConstraints.parse(value, field: "x-switchyard-route"))
        }
        if let options = request.switchyard {
            guard options.objectValue != nil else {
                throw SwitchyardError.invalidRequest("switchyard must be an object.", param: "switchyard")
            }
            if let route = options["route"] {
                constraints = constraints.merged(with: try RouteConstraints.parse(route, field: "switchyard.route"))
            }
        }
        // A guard's route-local: personal data may only go to models tagged `local`.
        if localOnly { constraints = constraints.merged(with: RouteConstraints(privacy: "local")) }
        let estimatedTokens = TokenEstimator.estimate(request)
        return (try await planner.plan(request, estimatedTokens: estimatedTokens, constraints: constraints), estimatedTokens)
    }

    private func upstreamRequest(_ request: ChatRequest, model: ModelSpec) -> ChatRequest {
        var upstream = request
        upstream.model = model.upstream
        upstream.switchyard = nil
        return upstream
    }

    private func remaining(until deadline: ContinuousClock.Instant?) -> Duration? {
        guard let deadline else { return nil }
        return max(deadline - .now, .milliseconds(1))
    }

    /// Records a failed attempt and its effect on the deployment's health.
    private func settle(
        _ error: any Error, step: RoutePlanner.Step, provider: String, retry: Int, started: ContinuousClock.Instant,
        record: inout RequestRecord
    ) -> any Error {
        if error is CancellationError {
            health.end(step.model.name, outcome: .neutral)
            return error
        }
        let failure = (error as? SwitchyardError) ?? SwitchyardError.internal("\(error)")
        health.end(step.model.name, outcome: failure.isRetryable ? .failure : .neutral)
        record.route?.attempts.append(
            attempt(step, provider: provider, retry: retry, status: failure.status, error: failure.message, started: started))
        return failure
    }

    /// Client errors end the request at once; provider faults move on, within the deadline.
    private func shouldContinue(after error: any Error, deadline: ContinuousClock.Instant?) throws -> Bool {
        guard let failure = error as? SwitchyardError, failure.isRetryable else { return false }
        if let deadline, ContinuousClock.now >= deadline {
            throw SwitchyardError(
                code: .upstreamTimeout, message: "The request ran out of time after trying its deployments (last: \(failure.message))",
                status: 504)
        }
        return true
    }

    private func backoff(_ policy: RetryPolicy, retry: Int, error: any Error, deadline: ContinuousClock.Instant?) async throws {
        let retryAfter = (error as? SwitchyardError)?.retryDelay
        var delay = policy.delay(beforeRetry: retry, retryAfter: retryAfter, random: Double.random(in: 0...1))
        if let deadline { delay = min(delay, max(deadline - .now, .zero)) }
        try await Task.sleep(for: delay)
    }

    private func noDeployment(_ plan: RoutePlanner.Plan) -> SwitchyardError {
        SwitchyardError(
            code: .upstreamUnreachable,
            message: "No deployment of '\(plan.trace.requested)' is available right now (circuit breakers open).", status: 503)
    }

    func attempt(
        _ step: RoutePlanner.Step, provider: String, retry: Int, status: Int, error: String? = nil,
        started: ContinuousClock.Instant
    ) -> RouteTrace.Attempt {
        RouteTrace.Attempt(
            deployment: step.model.name, provider: provider, group: step.group, retry: retry, status: status, error: error,
            milliseconds: milliseconds(since: started))
    }
}

func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

extension ChatChunk {
    /// True when the chunk holds something the client must see: text, a tool call, a finish reason or usage.
    var carriesOutput: Bool {
        if usage != nil { return true }
        return choices.contains { choice in
            !(choice.delta.content ?? "").isEmpty || !(choice.delta.toolCalls ?? []).isEmpty || choice.finishReason != nil
                || !(choice.delta.refusal ?? "").isEmpty
        }
    }
}

/// Follows a stream as it passes: time to first token, usage, and a fallback estimate.
public struct StreamAccounting: Sendable {
    let request: ChatRequest
    public let model: ModelSpec
    let context: CallContext
    var record: RequestRecord
    let attemptStartedAt: ContinuousClock.Instant
    var firstTokenAt: ContinuousClock.Instant?
    var completionCharacters = 0
    public private(set) var upstreamUsage: Usage?
    var cacheHit: CachedAnswer?
    var cacheFill: CacheFill?
    /// The budget reservation `finish` settles to the real cost.
    var reservation = Governor.Reservation.none
    var accumulator = ChatStreamAccumulator()
    /// The output guard the stream passes through (its findings go in the log; masked text in the cache).
    var guardFilter: GuardStreamFilter?
    /// What grounding retrieved; its citations go in the final chunk or event.
    public internal(set) var grounding: Grounding?

    init(request: ChatRequest, model: ModelSpec, context: CallContext, record: RequestRecord, attemptStartedAt: ContinuousClock.Instant) {
        self.request = request
        self.model = model
        self.context = context
        self.record = record
        self.attemptStartedAt = attemptStartedAt
    }

    public mutating func observe(_ chunk: ChatChunk) {
        if cacheFill != nil { accumulator.add(chunk) }
        if let usage = chunk.usage { upstreamUsage = usage }
        for choice in chunk.choices {
            var size = choice.delta.content?.utf8.count ?? 0
            for call in choice.delta.toolCalls ?? [] {
                size += (call.function?.name?.utf8.count ?? 0) + (call.function?.arguments?.utf8.count ?? 0)
            }
            if size > 0 {
                if firstTokenAt == nil { firstTokenAt = .now }
                completionCharacters += size
            }
        }
    }

    /// What the fast path's scan of one chunk found, without decoding it: its usage, and the size of the
    /// output it carries (content, refusal and tool-call bytes as sent).
    mutating func observe(outputBytes: Int, usage: Usage?) {
        if let usage { upstreamUsage = usage }
        if outputBytes > 0 {
            if firstTokenAt == nil { firstTokenAt = .now }
            completionCharacters += outputBytes
        }
    }

    /// The upstream's usage, or an estimate marked as such.
    public var finalUsage: Usage {
        if let upstreamUsage, upstreamUsage.isPlausible, upstreamUsage.promptTokens > 0 || upstreamUsage.completionTokens > 0 {
            return upstreamUsage
        }
        return Usage(
            promptTokens: TokenEstimator.estimate(request), completionTokens: (completionCharacters + 3) / 4, estimated: true)
    }

    var timeToFirstTokenMs: Double? {
        firstTokenAt.map { Double(($0 - context.startedAt).components.attoseconds) / 1e15 + Double(($0 - context.startedAt).components.seconds) * 1000 }
    }

    var attemptTimeToFirstTokenMs: Double? {
        firstTokenAt.map { Double(($0 - attemptStartedAt).components.attoseconds) / 1e15 + Double(($0 - attemptStartedAt).components.seconds) * 1000 }
    }

    /// The `switchyard` extension object for the final chunk or event.
    public func extensionObject(cost: Double, usage: Usage) -> JSONValue {
        Gateway.addCitations(grounding, to: Gateway.extensionObject(
            context: context, model: model, provider: record.provider ?? "", cost: cost, usage: usage,
            trace: cacheHit == nil ? record.route : nil, cache: cacheHit))!
    }
}
