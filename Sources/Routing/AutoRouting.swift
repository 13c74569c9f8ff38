import Foundation
import SwitchyardCore

/// Transparent rules, first match wins: length, keywords, regular expressions, needed capabilities.
public struct RuleClassifier: RequestClassifier {
    public struct Rule: Sendable {
        public var name: String
        public var task: String?
        public var difficulty: Int
        public var minPromptTokens: Int?
        public var maxPromptTokens: Int?
        public var minDepth: Int?
        public var keywords: [String]
        public var pattern: NSRegularExpression?
        public var needs: Set<Capability>

        public init(
            name: String, task: String? = nil, difficulty: Int, minPromptTokens: Int? = nil, maxPromptTokens: Int? = nil,
            minDepth: Int? = nil, keywords: [String] = [], pattern: NSRegularExpression? = nil, needs: Set<Capability> = []
        ) {
            self.name = name
            self.task = task
            self.difficulty = difficulty
            self.minPromptTokens = minPromptTokens
            self.maxPromptTokens = maxPromptTokens
            self.minDepth = minDepth
            self.keywords = keywords.map { $0.lowercased() }
            self.pattern = pattern
            self.needs = needs
        }

        func matches(_ features: RequestFeatures) -> Bool {
            if let minimum = minPromptTokens, features.promptTokens < minimum { return false }
            if let maximum = maxPromptTokens, features.promptTokens > maximum { return false }
            if let minimum = minDepth, features.depth < minimum { return false }
            if !needs.isSubset(of: features.needs) { return false }
            if !keywords.isEmpty {
                let text = features.lastUserText.lowercased()
                if !keywords.contains(where: { text.contains($0) }) { return false }
            }
            if let pattern {
                let text = features.lastUserText
                if pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil { return false }
            }
            return true
        }
    }

    public var rules: [Rule]
    public var defaultTask: String
    public var defaultDifficulty: Int

    public init(rules: [Rule], defaultTask: String = "chat", defaultDifficulty: Int = 1) {
        self.rules = rules
        self.defaultTask = defaultTask
        self.defaultDifficulty = defaultDifficulty
    }

    public func classify(_ features: RequestFeatures) -> Classification {
        for rule in rules where rule.matches(features) {
            return Classification(task: rule.task ?? defaultTask, difficulty: rule.difficulty, reason: "rule '\(rule.name)'")
        }
        return Classification(task: defaultTask, difficulty: defaultDifficulty, reason: "default")
    }
}

/// Limits on which models may serve a request, from the route's config or the request itself
/// (`x-switchyard-route` header or `"switchyard": {"route": {...}}`).
public struct RouteConstraints: Sendable, Hashable, Codable {
    public var maxCostUSD: Double?
    public var maxLatencyMs: Double?
    /// Only these models (glob patterns).
    public var only: [String]?
    /// Never these models (glob patterns).
    public var ignore: [String]?
    public var require: [Capability]?
    /// `local`: only models tagged `local`.
    public var privacy: String?

    public init(
        maxCostUSD: Double? = nil, maxLatencyMs: Double? = nil, only: [String]? = nil, ignore: [String]? = nil,
        require: [Capability]? = nil, privacy: String? = nil
    ) {
        self.maxCostUSD = maxCostUSD
        self.maxLatencyMs = maxLatencyMs
        self.only = only
        self.ignore = ignore
        self.require = require
        self.privacy = privacy
    }

    enum CodingKeys: String, CodingKey {
        case only, ignore, require, privacy
        case maxCostUSD = "max_cost_usd"
        case maxLatencyMs = "max_latency_ms"
    }

    /// Both sets of limits at once: the tighter of each.
    public func merged(with other: RouteConstraints) -> RouteConstraints {
        var result = self
        if let cost = other.maxCostUSD { result.maxCostUSD = min(cost, maxCostUSD ?? cost) }
        if let latency = other.maxLatencyMs { result.maxLatencyMs = min(latency, maxLatencyMs ?? latency) }
        if let only = other.only { result.only = only }
        if let ignore = other.ignore { result.ignore = (self.ignore ?? []) + ignore }
        if let require = other.require { result.require = Array(Set(require + (self.require ?? []))).sorted { $0.rawValue < $1.rawValue } }
        if let privacy = other.privacy { result.privacy = privacy }
        return result
    }

    /// Why a model breaks these limits, or nil when it may serve.
    public func violation(model: ModelSpec, estimatedCost: Double, latencyMs: Double?) -> String? {
        if let only, !GlobPattern.allows(only, model.name) { return "not in `only`" }
        if let ignore, GlobPattern.allows(ignore, model.name) { return "in `ignore`" }
        if privacy == "local", !model.tags.contains("local") { return "privacy: local, and the model is not tagged local" }
        if let require, !model.capabilities.isEmpty, !Set(require).isSubset(of: model.capabilities) {
            return "lacks required \(Set(require).subtracting(model.capabilities).map(\.rawValue).sorted().joined(separator: ", "))"
        }
        if let maxCostUSD, estimatedCost > maxCostUSD {
            return String(format: "estimated cost $%.6f is over max_cost_usd $%.6f", estimatedCost, maxCostUSD)
        }
        if let maxLatencyMs, let latencyMs, latencyMs > maxLatencyMs {
            return String(format: "measured latency %.0f ms is over max_latency_ms %.0f", latencyMs, maxLatencyMs)
        }
        return nil
    }

    public static func parse(_ value: JSONValue, field: String) throws -> RouteConstraints {
        guard value.objectValue != nil else {
            throw SwitchyardError.invalidRequest("\(field) must be a JSON object of route constraints.", param: field)
        }
        do {
            let constraints = try JSONDecoder().decode(RouteConstraints.self, from: JSONEncoder().encode(value))
            if let cost = constraints.maxCostUSD, !(cost.isFinite && cost >= 0) {
                throw SwitchyardError.invalidRequest("\(field).max_cost_usd must be a number of dollars, 0 or more.", param: "\(field).max_cost_usd")
            }
            if let latency = constraints.maxLatencyMs, !(latency.isFinite && latency >= 0) {
                throw SwitchyardError.invalidRequest(
                    "\(field).max_latency_ms must be a number of milliseconds, 0 or more.", param: "\(field).max_latency_ms")
            }
            return constraints
        } catch let error as DecodingError {
            let inner = SwitchyardError.decoding(error)
            throw SwitchyardError.invalidRequest(
                "\(field): \(inner.message) Allowed: max_cost_usd, max_latency_ms, only, ignore, require, privacy.",
                param: inner.param.map { "\(field).\($0)" } ?? field)
        }
    }
}
