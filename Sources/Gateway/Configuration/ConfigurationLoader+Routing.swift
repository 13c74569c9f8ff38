import Foundation
import LearnedRouting
import Routing
import SwitchyardCore
import Yams

/// The routing sections: groups of deployments, auto routes with their classifiers and tiers, and
/// learned routers.
extension ConfigurationLoader {
    static func parseGroup(_ node: ConfigNode, models: [ModelSpec]) throws -> SwitchyardConfiguration.ModelGroup {
        try node.allowOnly(["name", "strategy", "deployments", "fallbacks", "context_fallback", "retry", "timeout_ms", "cache", "retrieval", "tools", "guardrails"])
        let name = try node.required("name").string()
        var group = SwitchyardConfiguration.ModelGroup(name: name, deployments: [])
        if let strategy = node["strategy"] {
            let text = try strategy.string()
            guard let value = RoutingStrategy(rawValue: text) else {
                throw strategy.error(
                    "unknown strategy '\(text)'; use one of: \(RoutingStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            group.strategy = value
        }
        for entry in try node.required("deployments").list() {
            var deployment: SwitchyardConfiguration.ModelGroup.Deployment
            if case .scalar = entry.node {
                deployment = .init(model: try entry.string())
            } else {
                try entry.allowOnly(["model", "weight", "rpm", "tpm"])
                deployment = .init(
                    model: try entry.required("model").string(), weight: try entry["weight"]?.double(in: 0...1_000_000) ?? 1,
                    rpm: try entry["rpm"]?.int(in: 0...Limits.count), tpm: try entry["tpm"]?.int(in: 0...TokenCount.maximum))
            }
            guard let model = models.first(where: { $0.name == deployment.model }) else {
                throw entry.error("deployment '\(deployment.model)' is not a model in `models:`")
            }
            guard model.kind == .chat else { throw entry.error("deployment '\(deployment.model)' is not a chat model") }
            guard deployment.weight >= 0 else { throw entry.error("weight cannot be negative") }
            group.deployments.append(deployment)
        }
        guard !group.deployments.isEmpty else { throw node.error("group '\(name)' needs at least one deployment") }
        group.fallbacks = try node["fallbacks"]?.strings() ?? []
        group.contextFallback = try node["context_fallback"]?.string()
        if let retry = node["retry"] { group.retry = try parseRetry(retry) }
        if let timeout = try node["timeout_ms"]?.int(in: 1...Limits.day) { group.timeout = .milliseconds(timeout) }
        return group
    }

    static func parseAutoRoute(_ node: ConfigNode, targets: Set<String>) throws -> SwitchyardConfiguration.AutoRoute {
        try node.allowOnly(["name", "classifier", "tiers", "constraints", "retry", "timeout_ms", "cache", "retrieval", "tools", "guardrails"])
        let name = try node.required("name").string()
        var rules: [RuleClassifier.Rule] = []
        var defaultTask = "chat"
        var defaultDifficulty = 1
        var examples: [NearestNeighbourClassifier.Example]?
        var neighbours = 5
        var learnedRouter: LearnedRouter?
        var learnedThresholds: [Double] = []
        if let classifier = node["classifier"] {
            try classifier.allowOnly(["rules", "default", "knn", "learned"])
            if let learned = classifier["learned"] {
                (learnedRouter, learnedThresholds) = try parseLearnedRouter(learned)
            }
            if let knn = classifier["knn"] {
                try knn.allowOnly(["examples", "k"])
                let path = try knn.required("examples").string()
                let resolved = path.hasPrefix("/") ? path : URL(fileURLWithPath: node.source).deletingLastPathComponent().appendingPathComponent(path).path
                guard let data = FileManager.default.contents(atPath: resolved) else {
                    throw knn["examples"]!.error("cannot read the examples file '\(resolved)'")
                }
                examples = try NearestNeighbourClassifier.examples(jsonLines: String(decoding: data, as: UTF8.self), source: resolved)
                neighbours = try knn["k"]?.int(in: 1...1000) ?? 5
            }
            for (index, rule) in (try classifier["rules"]?.list() ?? []).enumerated() {
                try rule.allowOnly(["name", "task", "difficulty", "keywords", "regex", "min_prompt_tokens", "max_prompt_tokens", "min_depth", "needs"])
                var pattern: NSRegularExpression?
                if let regex = rule["regex"] {
                    do {
                        pattern = try NSRegularExpression(pattern: try regex.string())
                    } catch {
                        throw regex.error("not a valid regular expression")
                    }
                }
                var needs: Set<Capability> = []
                for item in try rule["needs"]?.list() ?? [] {
                    guard let capability = Capability(rawValue: try item.string()) else { throw item.error("unknown capability") }
                    needs.insert(capability)
                }
                rules.append(
                    RuleClassifier.Rule(
                        name: try rule["name"]?.string() ?? "rule-\(index + 1)", task: try rule["task"]?.string(),
                        difficulty: try rule.required("difficulty").int(in: Limits.difficulty),
                        minPromptTokens: try rule["min_prompt_tokens"]?.int(in: 0...TokenCount.maximum),
                        maxPromptTokens: try rule["max_prompt_tokens"]?.int(in: 0...TokenCount.maximum),
                        minDepth: try rule["min_depth"]?.int(in: 0...Limits.count),
                        keywords: try rule["keywords"]?.strings() ?? [], pattern: pattern, needs: needs))
            }
            if let fallback = classifier["default"] {
                try fallback.allowOnly(["task", "difficulty"])
                defaultTask = try fallback["task"]?.string() ?? defaultTask
                defaultDifficulty = try fallback["difficulty"]?.int(in: Limits.difficulty) ?? defaultDifficulty
            }
        }
        var tiers: [SwitchyardConfiguration.AutoRoute.Tier] = []
        for (index, tier) in try node.required("tiers").list().enumerated() {
            try tier.allowOnly(["name", "groups", "max_difficulty"])
            let members = try tier.required("groups").strings()
            for member in members where !targets.contains(member) {
                throw tier.error("'\(member)' is neither a model nor a group")
            }
            tiers.append(.init(name: try tier["name"]?.string() ?? "tier-\(index + 1)", targets: members, maxDifficulty: try tier["max_difficulty"]?.int(in: Limits.difficulty)))
        }
        guard !tiers.isEmpty else { throw node.error("route '\(name)' needs at least one tier") }
        var route = SwitchyardConfiguration.AutoRoute(
            name: name, classifier: RuleClassifier(rules: rules, defaultTask: defaultTask, defaultDifficulty: defaultDifficulty),
            tiers: tiers)
        route.examples = examples
        route.neighbours = neighbours
        if let learnedRouter {
            guard tiers.count >= 2 else { throw node.error("route '\(name)' uses a learned router and needs at least two tiers (weak first)") }
            route.learnedRouter = learnedRouter
            route.learnedThresholds = learnedThresholds
        }
        if let constraints = node["constraints"] {
            do {
                route.constraints = try RouteConstraints.parse(yamlToJSON(constraints.node), field: "constraints")
            } catch let error as SwitchyardError {
                throw constraints.error(error.message)
            }
        }
        if let retry = node["retry"] { route.retry = try parseRetry(retry) }
        if let timeout = try node["timeout_ms"]?.int(in: 1...Limits.day) { route.timeout = .milliseconds(timeout) }
        return route
    }

    /// `learned: {router: FILE, threshold: T}` (or `thresholds: [T1, T2]` for three or more tiers; the
    /// router's calibrated threshold when neither is given).
    static func parseLearnedRouter(_ node: ConfigNode) throws -> (LearnedRouter, [Double]) {
        try node.allowOnly(["router", "threshold", "thresholds"])
        let path = try node.required("router").string()
        let resolved = path.hasPrefix("/") ? path : URL(fileURLWithPath: node.source).deletingLastPathComponent().appendingPathComponent(path).path
        let router: LearnedRouter
        do {
            router = try LearnedRouter.load(path: resolved)
        } catch let error as RouterFileError {
            throw node["router"]!.error(error.description)
        }
        var thresholds: [Double]
        if let many = node["thresholds"] {
            thresholds = try many.list().map { try $0.double(in: -1_000_000...1_000_000) }
            guard !thresholds.isEmpty else { throw many.error("give at least one threshold") }
        } else if let one = node["threshold"] {
            thresholds = [try one.double(in: -1_000_000...1_000_000)]
        } else if let calibrated = router.header.threshold {
            thresholds = [calibrated]
        } else {
            throw node.error("the router '\(resolved)' has no calibrated threshold: give `threshold`, or run `switchyard route calibrate` on it")
        }
        thresholds.sort()
        return (router, thresholds)
    }
}
