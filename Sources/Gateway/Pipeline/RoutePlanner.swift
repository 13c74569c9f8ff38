import Routing
import SwitchyardCore

/// Turns the requested model or group into an ordered list of deployments to try, recording why
/// each candidate was kept or dropped.
struct RoutePlanner: Sendable {
    struct Step: Sendable {
        var model: ModelSpec
        var group: String
        var retry: RetryPolicy
        /// Tried although its breaker is open: every deployment of the plan was open (panic mode).
        var panic = false
    }

    struct Plan: Sendable {
        var steps: [Step]
        var trace: RouteTrace
        var timeout: Duration?
    }

    let models: [String: ModelSpec]
    let groups: [String: SwitchyardConfiguration.ModelGroup]
    let autoRoutes: [String: SwitchyardConfiguration.AutoRoute]
    /// Learned classifiers by route name (routes with `knn` examples).
    let learned: [String: any RequestClassifier]
    let health: DeploymentHealth
    let modelRetry: RetryPolicy

    func isRoute(_ name: String) -> Bool { groups[name] != nil || autoRoutes[name] != nil }

    func plan(_ request: ChatRequest, estimatedTokens: Int, constraints: RouteConstraints) async throws -> Plan {
        if let route = autoRoutes[request.model] {
            return try await planAuto(route, request: request, estimatedTokens: estimatedTokens, constraints: constraints)
        }
        return try planModelOrGroup(request, estimatedTokens: estimatedTokens, constraints: constraints)
    }

    /// The plan of a plain model or a group: synchronous (an auto route's classifier may not be).
    func planModelOrGroup(_ request: ChatRequest, estimatedTokens: Int, constraints: RouteConstraints) throws -> Plan {
        let name = request.model
        guard let group = groups[name] else {
            // A plain model: one deployment, checked strictly so the client hears exactly what is wrong.
            guard let model = models[name] else { throw SwitchyardError.modelNotFound(name) }
            try ChatRequestValidator.check(request, fits: model)
            if let reason = contextProblem(model, request: request, estimatedTokens: estimatedTokens) {
                throw SwitchyardError.invalidRequest(reason, param: "messages")
            }
            if let reason = constraintProblem(model, request: request, estimatedTokens: estimatedTokens, constraints: constraints) {
                throw SwitchyardError.invalidRequest("The model '\(name)' breaks the route constraints: \(reason).", param: "switchyard.route")
            }
            var trace = RouteTrace(requested: name, kind: "model")
            trace.candidates = [.init(deployment: name, group: name)]
            return Plan(steps: [Step(model: model, group: name, retry: modelRetry)], trace: trace, timeout: nil)
        }
        var trace = RouteTrace(requested: name, kind: "group", strategy: group.strategy.rawValue)
        var visited: Set<String> = []
        var random = SystemRandomNumberGenerator()
        var opened: [Step] = []
        var steps = visit(
            name, request: request, estimatedTokens: estimatedTokens, constraints: constraints, trace: &trace,
            visited: &visited, random: &random, opened: &opened)
        steps = Self.unique(steps)
        if steps.isEmpty, let panic = panicStep(opened, trace: &trace) { steps = [panic] }
        guard !steps.isEmpty else {
            let reasons = trace.candidates.compactMap { candidate in candidate.excluded.map { "\(candidate.deployment): \($0)" } }
            let clientProblem = trace.candidates.allSatisfy { $0.excluded.map(Self.isClientProblem) ?? false }
            throw SwitchyardError(
                code: clientProblem ? .invalidRequest : .upstreamUnreachable,
                message: "No deployment of '\(name)' can take this request (\(reasons.joined(separator: "; "))).",
                status: clientProblem ? 400 : 503)
        }
        return Plan(steps: steps, trace: trace, timeout: group.timeout)
    }

    /// When every deployment the request could use has an open breaker, refusing them all would turn
    /// a partial outage into a total one: the one whose cool-down ends first is tried anyway (Envoy's
    /// panic threshold does the same for a cluster with too few healthy hosts).
    private func panicStep(_ opened: [Step], trace: inout RouteTrace) -> Step? {
        let earliest = opened.min { a, b in
            (health.openUntil(a.model.name) ?? .now) < (health.openUntil(b.model.name) ?? .now)
        }
        guard var step = earliest else { return nil }
        step.panic = true
        trace.notes.append("every deployment's circuit breaker is open: trying '\(step.model.name)', whose cool-down ends first")
        if let index = trace.candidates.lastIndex(where: { $0.deployment == step.model.name && $0.excluded == "circuit breaker open" }) {
            trace.candidates[index].excluded = nil
        }
        return step
    }

    /// Each deployment once, at its first place (a deployment can sit in a group and its fallback).
    static func unique(_ steps: [Step]) -> [Step] {
        var seen: Set<String> = []
        return steps.filter { seen.insert($0.model.name).inserted }
    }

    private static let capabilityPrefix = "lacks "
    private static let contextPrefix = "prompt of ~"

    private static func isClientProblem(_ reason: String) -> Bool {
        reason != "circuit breaker open" && !reason.hasPrefix("would exceed")
    }

    private func visit(
        _ name: String, request: ChatRequest, estimatedTokens: Int, constraints: RouteConstraints, trace: inout RouteTrace,
        visited: inout Set<String>, random: inout SystemRandomNumberGenerator, opened: inout [Step], retry: RetryPolicy? = nil,
        fallbacks: Bool = true
    ) -> [Step] {
        guard visited.insert(name).inserted else { return [] }
        guard let group = groups[name] else {
            guard let model = models[name] else { return [] }
            if let reason = capabilityProblem(model, request: request)
                ?? contextProblem(model, request: request, estimatedTokens: estimatedTokens)
                ?? constraintProblem(model, request: request, estimatedTokens: estimatedTokens, constraints: constraints)
            {
                trace.candidates.append(.init(deployment: name, group: name, excluded: reason))
                return []
            }
            if !health.snapshot(name).available {
                trace.candidates.append(.init(deployment: name, group: name, excluded: "circuit breaker open"))
                opened.append(Step(model: model, group: name, retry: retry ?? modelRetry))
                return []
            }
            trace.candidates.append(.init(deployment: name, group: name))
            return [Step(model: model, group: name, retry: retry ?? modelRetry)]
        }

        var snapshots: [DeploymentSnapshot] = []
        var fitsContext = false
        var capable = false
        for (index, deployment) in group.deployments.enumerated() {
            guard let model = models[deployment.model] else { continue }
            if let reason = capabilityProblem(model, request: request) {
                trace.candidates.append(.init(deployment: model.name, group: name, excluded: reason))
                continue
            }
            capable = true
            if let reason = contextProblem(model, request: request, estimatedTokens: estimatedTokens) {
                trace.candidates.append(.init(deployment: model.name, group: name, excluded: reason))
                continue
            }
            fitsContext = true
            if let reason = constraintProblem(model, request: request, estimatedTokens: estimatedTokens, constraints: constraints) {
                trace.candidates.append(.init(deployment: model.name, group: name, excluded: reason))
                continue
            }
            let stats = health.snapshot(model.name)
            let expectedOutput = request.outputTokenLimit ?? 256
            let cost = model.price.cost(of: Usage(promptTokens: estimatedTokens, completionTokens: expectedOutput))
            snapshots.append(
                DeploymentSnapshot(
                    name: model.name, index: index, weight: deployment.weight, inFlight: stats.inFlight,
                    latencyMs: stats.latencyMs, ttftMs: stats.ttftMs, estimatedCost: cost,
                    requestsLastMinute: stats.requestsLastMinute, tokensLastMinute: stats.tokensLastMinute,
                    rpmLimit: deployment.rpm, tpmLimit: deployment.tpm, available: stats.available))
        }
        let (ordered, excluded) = StrategyOrdering.order(
            snapshots, by: group.strategy, stream: request.stream, estimatedTokens: estimatedTokens, using: &random)
        for exclusion in excluded {
            trace.candidates.append(.init(deployment: exclusion.deployment, group: name, excluded: exclusion.reason))
            if exclusion.reason == StrategyOrdering.breakerOpen, let model = models[exclusion.deployment] {
                opened.append(Step(model: model, group: name, retry: retry ?? group.retry))
            }
        }
        var steps: [Step] = ordered.compactMap { snapshot in
            models[snapshot.name].map { model in
                trace.candidates.append(.init(deployment: model.name, group: name))
                return Step(model: model, group: name, retry: retry ?? group.retry)
            }
        }
        guard fallbacks else { return steps }
        if capable, !fitsContext, let fallback = group.contextFallback {
            trace.notes.append("prompt too long for '\(name)': context fallback to '\(fallback)'")
            steps += visit(
                fallback, request: request, estimatedTokens: estimatedTokens, constraints: constraints, trace: &trace,
                visited: &visited, random: &random, opened: &opened)
        }
        for fallback in group.fallbacks {
            steps += visit(
                fallback, request: request, estimatedTokens: estimatedTokens, constraints: constraints, trace: &trace,
                visited: &visited, random: &random, opened: &opened)
        }
        return steps
    }

    /// Classifies the request, then takes the lowest tier whose bar it meets and whose models pass
    /// every constraint, cheapest model first; higher tiers follow as fallbacks.
    private func planAuto(
        _ route: SwitchyardConfiguration.AutoRoute, request: ChatRequest, estimatedTokens: Int, constraints: RouteConstraints
    ) async throws -> Plan {
        let features = RequestFeatures(request, promptTokens: estimatedTokens)
        var verdict: Classification
        if let classifier = learned[route.name] {
            do {
                verdict = try await classifier.classify(features)
                // With a learned router the rules still set a floor: a matching rule can raise the difficulty.
                let ruled = route.classifier.classify(features)
                if route.learnedRouter != nil, ruled.reason != "default", ruled.difficulty > verdict.difficulty {
                    verdict.difficulty = ruled.difficulty
                    verdict.reason += "; raised to \(ruled.difficulty) by \(ruled.reason)"
                }
            } catch {
                // The learned classifier needs the local model; without it the rules still decide.
                var fallback = route.classifier.classify(features)
                fallback.reason += " (learned classifier unavailable: \(error))"
                verdict = fallback
            }
        } else {
            verdict = route.classifier.classify(features)
        }
        let constraints = route.constraints.merged(with: constraints)
        var trace = RouteTrace(requested: route.name, kind: "auto", strategy: "lowest-cost tier")
        var described = features.json
        described["task"] = .string(verdict.task)
        described["difficulty"] = .int(Int64(verdict.difficulty))
        described["classifier"] = .string(verdict.reason)
        if let score = verdict.score { described["score"] = .double(score) }
        var steps: [Step] = []
        var chosenTier: String?
        var visited: Set<String> = []
        var random = SystemRandomNumberGenerator()
        var opened: [Step] = []
        let expectedOutput = request.outputTokenLimit ?? features.expectedOutputTokens
        for tier in route.tiers {
            if let bar = tier.maxDifficulty, bar < verdict.difficulty {
                trace.notes.append("tier '\(tier.name)' skipped: difficulty \(verdict.difficulty) is above its bar \(bar)")
                continue
            }
            var tierSteps: [Step] = []
            for target in tier.targets {
                tierSteps += visit(
                    target, request: request, estimatedTokens: estimatedTokens, constraints: constraints, trace: &trace,
                    visited: &visited, random: &random, opened: &opened, retry: route.retry, fallbacks: false)
            }
            let cost: (Step) -> Double = {
                $0.model.price.cost(of: Usage(promptTokens: estimatedTokens, completionTokens: expectedOutput))
            }
            tierSteps.sort { cost($0) < cost($1) }
            if chosenTier == nil, !tierSteps.isEmpty { chosenTier = tier.name }
            steps += tierSteps
        }
        steps = Self.unique(steps)
        if steps.isEmpty, let panic = panicStep(opened, trace: &trace) {
            steps = [panic]
            chosenTier = route.tiers.first { tier in tier.targets.contains(panic.group) || tier.targets.contains(panic.model.name) }?.name
        }
        described["tier"] = chosenTier.map { .string($0) } ?? .null
        trace.features = described
        guard !steps.isEmpty else {
            let reasons = trace.candidates.compactMap { candidate in candidate.excluded.map { "\(candidate.deployment): \($0)" } }
            throw SwitchyardError(
                code: .invalidRequest,
                message: "No model of route '\(route.name)' meets this request's needs and constraints (\(reasons.joined(separator: "; "))).",
                status: 400, param: "model")
        }
        return Plan(steps: steps, trace: trace, timeout: route.timeout)
    }

    private func constraintProblem(
        _ model: ModelSpec, request: ChatRequest, estimatedTokens: Int, constraints: RouteConstraints
    ) -> String? {
        guard constraints != RouteConstraints() else { return nil }
        let cost = model.price.cost(of: Usage(promptTokens: estimatedTokens, completionTokens: request.outputTokenLimit ?? 512))
        return constraints.violation(model: model, estimatedCost: cost, latencyMs: health.snapshot(model.name).latencyMs)
    }

    private func capabilityProblem(_ model: ModelSpec, request: ChatRequest) -> String? {
        do {
            try ChatRequestValidator.check(request, fits: model)
            return nil
        } catch let error as SwitchyardError {
            return Self.capabilityPrefix + (error.param ?? "a capability") + " support"
        } catch {
            return Self.capabilityPrefix + "a capability"
        }
    }

    private func contextProblem(_ model: ModelSpec, request: ChatRequest, estimatedTokens: Int) -> String? {
        guard let window = model.contextWindow else { return nil }
        let needed = estimatedTokens + (request.outputTokenLimit ?? 0)
        guard needed > window else { return nil }
        return "\(Self.contextPrefix)\(estimatedTokens) tokens (+\(request.outputTokenLimit ?? 0) output) does not fit the context window of \(window)"
    }
}
