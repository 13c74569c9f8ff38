import Caching
import Foundation
import LearnedRouting
import Routing
import SwitchyardCore
import Yams

/// Reads and validates the YAML configuration. Every error names the file, line, field and fix.
public enum ConfigurationLoader {
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> SwitchyardConfiguration
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SwitchyardError.configuration("Cannot read the config file '\(path)': it does not exist or is not readable.")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path, environment: environment)
    }

    public static func parse(
        _ text: String, source: String = "<config>", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> SwitchyardConfiguration {
        // `${VAR}`s become placeholders before parsing and are resolved inside scalar values after it,
        // so a variable's value is always data: it can never add keys or change the YAML's structure.
        let references = try EnvironmentReferences(text, source: source)
        var unset: [String: [String]] = [:]
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: references.template) else {
                throw SwitchyardError.configuration("\(source): the file is empty.")
            }
            root = references.resolve(node, path: "", environment: environment, unset: &unset)
        } catch let error as YamlError {
            throw SwitchyardError.configuration("\(source): not valid YAML: \(error)")
        }
        let reader = ConfigNode(node: root, path: "", source: source)
        try reader.allowOnly(["server", "storage", "providers", "models", "groups", "routes", "routing", "cache", "auth", "embeddings", "retrieval", "mcp", "guardrails", "experiments", "request_log", "workflows", "observability"])

        var configuration = SwitchyardConfiguration()
        configuration.source = source
        configuration.unsetVariables = unset
        if let server = reader["server"] {
            try server.allowOnly(["host", "port", "max_body_bytes", "fast_path", "backlog"])
            configuration.server.host = try server["host"]?.string() ?? configuration.server.host
            if let port = try server["port"]?.int(in: 0...65535) { configuration.server.port = port }
            if let limit = try server["max_body_bytes"]?.int(in: 1...Limits.maximumBodyBytes) { configuration.server.maxBodyBytes = limit }
            if let backlog = try server["backlog"]?.int(in: 1...65_535) { configuration.server.backlog = backlog }
            if let fast = server["fast_path"] {
                guard let value = fast.node.bool else { throw fast.error("must be true or false") }
                configuration.server.fastPath = value
            }
        }
        if let storage = reader["storage"] {
            try storage.allowOnly(["sqlite", "flush_ms", "postgres", "spool"])
            configuration.storage.sqlitePath = try storage["sqlite"]?.string() ?? configuration.storage.sqlitePath
            if let node = storage["postgres"] {
                let url = try node.string()
                // Checked here so a typo stops the start naming the field; the password is never echoed.
                if let problem = PostgresURLCheck.problem(url) { throw node.error(problem) }
                configuration.storage.postgresURL = url
            }
            if let spool = try storage["spool"]?.string() {
                guard !spool.isEmpty, spool.utf8.count <= 4096, !spool.contains("\0") else { throw storage["spool"]!.error("must be a directory path") }
                configuration.storage.spoolDirectory = spool
            }
            if let flush = try storage["flush_ms"]?.int(in: 1...Limits.day) { configuration.storage.flushMilliseconds = flush }
        }
        if let embeddings = reader["embeddings"] {
            try embeddings.allowOnly(["model_dir", "precision", "internal_precision"])
            configuration.localModelDirectory = try embeddings["model_dir"]?.string()
            func precision(_ key: String) throws -> EmbeddingPrecision? {
                guard let node = embeddings[key] else { return nil }
                let text = try node.string()
                guard let value = EmbeddingPrecision(rawValue: text) else {
                    throw node.error("'\(text)' is not a precision; use one of: \(EmbeddingPrecision.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return value
            }
            if let served = try precision("precision") { configuration.localEmbeddingPrecision = served }
            if let gatewayOnly = try precision("internal_precision") { configuration.internalEmbeddingPrecision = gatewayOnly }
        }

        var providerNames: Set<String> = []
        for provider in try reader["providers"]?.list() ?? [] {
            var parsed = try parseProvider(provider)
            if parsed.apiKey == nil, let names = unset["\(provider.path).api_key"], !names.isEmpty {
                parsed.missingKeyHint = names.map { "${\($0)} is not set" }.joined(separator: ", ")
            }
            guard providerNames.insert(parsed.name).inserted else {
                throw provider["name"]!.error("the provider name '\(parsed.name)' is used twice; names must be unique")
            }
            configuration.providers.append(parsed)
        }

        var modelNames: Set<String> = []
        for model in try reader["models"]?.list() ?? [] {
            let parsed = try parseModel(model, providers: providerNames)
            guard modelNames.insert(parsed.name).inserted else {
                throw model["name"]!.error("the model name '\(parsed.name)' is used twice; names must be unique")
            }
            configuration.models.append(parsed)
        }

        for group in try reader["groups"]?.list() ?? [] {
            let parsed = try parseGroup(group, models: configuration.models)
            guard !modelNames.contains(parsed.name), !configuration.groups.contains(where: { $0.name == parsed.name }) else {
                throw group["name"]!.error("the name '\(parsed.name)' is already used by a model or group; names must be unique")
            }
            configuration.groups.append(parsed)
        }
        let routeNames = modelNames.union(configuration.groups.map(\.name))
        for (index, group) in configuration.groups.enumerated() {
            let node = try reader.required("groups").list()[index]
            for target in group.fallbacks + [group.contextFallback].compactMap({ $0 }) where !routeNames.contains(target) {
                throw node.error("fallback '\(target)' is neither a model nor a group")
            }
        }
        for route in try reader["routes"]?.list() ?? [] {
            let parsed = try parseAutoRoute(route, targets: routeNames)
            guard !routeNames.contains(parsed.name), !configuration.autoRoutes.contains(where: { $0.name == parsed.name }) else {
                throw route["name"]!.error("the name '\(parsed.name)' is already used by a model, group or route")
            }
            configuration.autoRoutes.append(parsed)
        }
        try parseExperiments(reader, into: &configuration)
        if let observability = reader["observability"] {
            try observability.allowOnly(["metrics_token", "metrics", "tracing"])
            if let tracing = observability["tracing"] { configuration.observability.tracing = try Self.tracing(tracing) }
            if let metrics = observability["metrics"] {
                guard let value = metrics.node.bool else { throw metrics.error("must be true or false") }
                configuration.observability.metrics = value
            }
            if let token = observability["metrics_token"] {
                let value = try token.string()
                guard value.count >= 16, value.count <= 512 else {
                    throw token.error("a metrics token is 16 to 512 characters (a secret; use ${METRICS_TOKEN})")
                }
                configuration.observability.metricsToken = value
            }
        }
        if let routing = reader["routing"] {
            try routing.allowOnly(["circuit_breaker", "retry"])
            if let breaker = routing["circuit_breaker"] {
                try breaker.allowOnly(["failures", "failure_rate", "min_calls", "window_s", "cooldown_s"])
                var policy = CircuitBreakerPolicy()
                policy.consecutiveFailures = try breaker["failures"]?.int(in: 1...Limits.count) ?? policy.consecutiveFailures
                policy.failureRate = try breaker["failure_rate"]?.double(in: 0.01...1) ?? policy.failureRate
                policy.minimumCalls = try breaker["min_calls"]?.int(in: 1...Limits.count) ?? policy.minimumCalls
                if let window = try breaker["window_s"]?.seconds(in: 1...3600) { policy.window = window }
                if let cooldown = try breaker["cooldown_s"]?.seconds(in: 0...86_400) { policy.openDuration = cooldown }
                configuration.circuitBreaker = policy
            }
            if let retry = routing["retry"] { configuration.modelRetry = try parseRetry(retry) }
        }

        if let cache = reader["cache"] {
            try cache.allowOnly(["enabled", "exact", "ttl_s", "semantic", "max_bytes", "store", "max_semantic_temperature", "side_effect_tools"])
            if try cache["enabled"].map({ node -> Bool in
                guard let value = node.node.bool else { throw node.error("must be true or false") }
                return value
            }) ?? true {
                configuration.cache.defaultPolicy = try parseCachePolicy(cache, base: CachePolicy())
            }
            configuration.cache.maxBytes = try cache["max_bytes"]?.int(in: 0...Limits.maximumCacheBytes) ?? configuration.cache.maxBytes
            if let store = try cache["store"]?.string() {
                guard store == "memory" || store == "sqlite" else { throw cache["store"]!.error("use memory or sqlite") }
                configuration.cache.persistent = store == "sqlite"
            }
            configuration.cache.sideEffectTools = try cache["side_effect_tools"]?.strings()
        }
        for section in ["models", "groups", "routes"] {
            for node in try reader[section]?.list() ?? [] {
                guard let cache = node["cache"] else { continue }
                let name = try node.required("name").string()
                configuration.cache.policies[name] = try parseCachePolicy(cache, base: configuration.cache.defaultPolicy ?? CachePolicy())
            }
        }

        try parseRetrieval(reader, into: &configuration)
        try parseMCP(reader, into: &configuration)

        if let auth = reader["auth"] {
            try auth.allowOnly(["keys", "enabled"])
            if let enabled = auth["enabled"] {
                guard let value = enabled.node.bool else { throw enabled.error("must be true or false") }
                configuration.auth.explicitlyOff = !value
            }
            var seen: Set<String> = []
            let entries = try auth["keys"]?.list() ?? []
            configuration.auth.keysListed = !entries.isEmpty
            if configuration.auth.explicitlyOff, !entries.isEmpty {
                throw auth.error("`enabled: false` turns auth off, so `keys:` would be ignored; remove one of them")
            }
            /// An entry that resolved to nothing: skipped, and described in case none is left.
            func skip(_ path: String) {
                let names = unset[path] ?? []
                configuration.auth.emptyKeys.append(
                    names.isEmpty ? "\(path) is empty" : "\(path): " + names.map { "${\($0)} is not set" }.joined(separator: ", "))
            }
            var withoutRole: [Int] = []  // indices in configuration.keys
            var anyRole = false
            for (index, entry) in entries.enumerated() {
                var key: SwitchyardConfiguration.APIKey
                var roleGiven = false
                if case .scalar = entry.node {
                    let value = try entry.string()
                    if value.isEmpty || value == "~" {
                        skip(entry.path)
                        continue
                    }
                    key = .init(key: value, name: "key-\(index + 1)")
                } else {
                    try entry.allowOnly(["key", "name", "models", "tools", "groups", "role", "collections", "budget", "rpm", "tpm", "tags", "guardrails"])
                    guard entry["key"] != nil || unset["\(entry.path).key"] != nil else {
                        throw entry.error("needs `key:` with the secret clients send")
                    }
                    let value = try entry["key"]?.string() ?? ""
                    if value.isEmpty {
                        skip("\(entry.path).key")
                        continue
                    }
                    key = .init(
                        key: value, name: try entry["name"]?.string() ?? "key-\(index + 1)",
                        models: try entry["models"]?.strings(), tools: try entry["tools"]?.strings())
                    key.groups = try entry["groups"]?.strings() ?? []
                    if let role = entry["role"] {
                        let text = try role.string()
                        guard let value = Role(rawValue: text) else { throw role.error("unknown role '\(text)'; use admin, team_admin or member") }
                        key.role = value
                        roleGiven = true
                    }
                    if let collections = entry["collections"] {
                        let text = try collections.string()
                        guard text == "read" || text == "write" else { throw collections.error("use read or write") }
                        key.collectionWrite = text == "write"
                    }
                    if let budget = entry["budget"] {
                        do {
                            key.budget = try Budget.parse(yamlToJSON(budget.node), field: "budget")
                        } catch let error as SwitchyardError {
                            throw budget.error(error.message)
                        }
                    }
                    key.rpm = try entry["rpm"]?.int(in: 1...Limits.count)
                    key.tpm = try entry["tpm"]?.int(in: 1...Limits.count)
                    key.tags = try entry["tags"]?.stringMap() ?? [:]
                }
                guard seen.insert(key.key).inserted else { throw entry.error("the same key is listed twice") }
                if roleGiven { anyRole = true } else { withoutRole.append(configuration.keys.count) }
                configuration.keys.append(key)
            }
            // A config that names roles is least-privilege: its keys without one are members. One that
            // names none is from before roles, when every key could do everything: it keeps working.
            if anyRole {
                for index in withoutRole {
                    configuration.keys[index].role = .member
                    if configuration.keys[index].collectionWrite == nil { configuration.keys[index].collectionWrite = false }
                }
            }
        }
        try parseGuardrails(reader, into: &configuration)
        try parseWorkflows(reader, into: &configuration)
        return configuration
    }

    static func parseProvider(_ node: ConfigNode) throws -> ProviderConfiguration {
        try node.allowOnly([
            "name", "kind", "base_url", "api_key", "auth_header", "headers", "query", "timeout_ms", "anthropic_version",
            "default_max_tokens", "responses_api", "max_connections", "prewarm_connections",
        ])
        let name = try node.required("name").string()
        let kindText = try node.required("kind").string()
        guard let kind = ProviderConfiguration.Kind(rawValue: kindText) else {
            throw node["kind"]!.error(
                "unknown provider kind '\(kindText)'; use one of: openai (any OpenAI-compatible server), anthropic, gemini, ollama")
        }
        let baseURL = try node.required("base_url").string()
        guard let url = URL(string: baseURL), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil
        else {
            throw node["base_url"]!.error("'\(baseURL)' is not an http(s) URL, e.g. https://api.openai.com/v1")
        }
        var provider = ProviderConfiguration(name: name, kind: kind, baseURL: baseURL)
        let key = try node["api_key"]?.string()
        provider.apiKey = (key?.isEmpty ?? true) ? nil : key
        provider.authHeader = try node["auth_header"]?.string()
        provider.headers = try node["headers"]?.stringMap() ?? [:]
        provider.query = try node["query"]?.stringMap() ?? [:]
        if let timeout = try node["timeout_ms"]?.int(in: 1...Limits.day) { provider.timeoutMilliseconds = timeout }
        provider.anthropicVersion = try node["anthropic_version"]?.string() ?? provider.anthropicVersion
        provider.defaultMaxTokens = try node["default_max_tokens"]?.int(in: ChatRequest.outputTokenRange) ?? provider.defaultMaxTokens
        provider.maxConnections = try node["max_connections"]?.int(in: ProviderConfiguration.maxConnectionsRange)
        if let prewarm = node["prewarm_connections"] {
            provider.prewarmConnections = try prewarm.int(in: ProviderConfiguration.prewarmConnectionsRange)
            if let limit = provider.maxConnections, provider.prewarmConnections > limit {
                throw prewarm.error("is \(provider.prewarmConnections), more than max_connections (\(limit)): lower it or raise max_connections")
            }
        }
        if let mode = node["responses_api"] {
            let text = try mode.string()
            guard text == "native" || text == "translate" else { throw mode.error("use native or translate") }
            guard text == "translate" || provider.kind == .openai else {
                throw mode.error("only an OpenAI-compatible provider (kind: openai) can speak the Responses API natively")
            }
            provider.nativeResponses = text == "native"
        }
        return provider
    }

    static func parseModel(_ node: ConfigNode, providers: Set<String>) throws -> ModelSpec {
        try node.allowOnly([
            "name", "provider", "upstream", "price", "context_window", "max_output_tokens", "capabilities", "tags", "type",
            "cache", "retrieval", "tools", "batch_discount", "guardrails",
        ])
        let name = try node.required("name").string()
        let kindText = try node["type"]?.string() ?? "chat"
        guard let kind = ModelSpec.Kind(rawValue: kindText) else {
            throw node["type"]!.error("unknown model type '\(kindText)'; use chat or embedding")
        }
        let provider = try node.required("provider").string()
        guard providers.contains(provider) || provider == "local" else {
            let known = providers.sorted().joined(separator: ", ")
            throw node["provider"]!.error(
                "no provider named '\(provider)' is configured (providers: \(known.isEmpty ? "none" : known))")
        }
        let price: Price
        if let priceNode = node["price"] {
            try priceNode.allowOnly(["input", "output", "cached_input", "cache_write"])
            let input = try priceNode.required("input").double(in: Limits.price)
            let output = try priceNode["output"]?.double(in: Limits.price)
            guard kind == .embedding || output != nil else {
                throw priceNode.error("needs `output:` (USD per 1M output tokens) for a chat model")
            }
            price = Price(
                input: input, output: output ?? 0, cachedInput: try priceNode["cached_input"]?.double(in: Limits.price),
                cacheWrite: try priceNode["cache_write"]?.double(in: Limits.price))
        } else if kind == .embedding && provider == "local" {
            price = Price(input: 0, output: 0)
        } else {
            throw node.error(
                "model '\(name)' has no price. Every model needs one so cost is never a silent $0: add "
                    + "`price: {input: 0.15, output: 0.60}` (USD per 1M tokens), or `price: {input: 0, output: 0}` for a free local model")
        }
        var capabilities: Set<Capability> = []
        for item in try node["capabilities"]?.list() ?? [] {
            let text = try item.string()
            guard let capability = Capability(rawValue: text) else {
                throw item.error(
                    "unknown capability '\(text)'; use: \(Capability.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            capabilities.insert(capability)
        }
        var model = ModelSpec(
            name: name, kind: kind, provider: provider, upstream: try node["upstream"]?.string(), price: price,
            contextWindow: try node["context_window"]?.int(in: 1...TokenCount.maximum),
            maxOutputTokens: try node["max_output_tokens"]?.int(in: ChatRequest.outputTokenRange),
            capabilities: capabilities, tags: Set(try node["tags"]?.strings() ?? []))
        // A fraction off the price for batch requests (0.5 = half price, as the providers' batch APIs).
        model.batchDiscount = try node["batch_discount"]?.double(in: 0...1) ?? 0
        return model
    }

    static func yamlToJSON(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if let int = node.int { return .int(Int64(int)) }
            if let double = node.float { return double.isFinite ? .double(double) : .string(scalar.string) }
            if let bool = node.bool { return .bool(bool) }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .array(sequence.map(yamlToJSON))
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = yamlToJSON(value) }
            return .object(object)
        case .alias:
            return .null
        }
    }

    static func parseCachePolicy(_ node: ConfigNode, base: CachePolicy) throws -> CachePolicy {
        if case .scalar = node.node {
            guard let enabled = node.node.bool else { throw node.error("must be true, false, or a mapping") }
            return enabled ? base : .off
        }
        try node.allowOnly(["enabled", "exact", "ttl_s", "semantic", "max_bytes", "store", "max_semantic_temperature", "side_effect_tools"])
        var policy = base
        if let exact = node["exact"] {
            guard let value = exact.node.bool else { throw exact.error("must be true or false") }
            policy.exact = value
        }
        if let ttl = try node["ttl_s"]?.seconds(in: 0.001...Limits.maximumTTLSeconds) { policy.ttl = ttl }
        if let temperature = try node["max_semantic_temperature"]?.double(in: 0...2) { policy.maxSemanticTemperature = temperature }
        if let semantic = node["semantic"] {
            if case .scalar = semantic.node {
                guard let enabled = semantic.node.bool else { throw semantic.error("must be true, false, or {threshold, ttl_s, verify}") }
                policy.semantic = enabled ? CachePolicy.Semantic() : nil
            } else {
                try semantic.allowOnly(["threshold", "ttl_s", "verify"])
                var verify = true
                if let node = semantic["verify"] {
                    guard let value = node.node.bool else { throw node.error("must be true or false") }
                    verify = value
                }
                // Without verification the default threshold is cosine's own (higher) one.
                var value = CachePolicy.Semantic(verify: verify)
                if let threshold = try semantic["threshold"]?.double(in: 0...1) { value.threshold = threshold }
                if let ttl = try semantic["ttl_s"]?.seconds(in: 0.001...Limits.maximumTTLSeconds) { value.ttl = ttl }
                policy.semantic = value
            }
        }
        return policy
    }

    static func parseRetry(_ node: ConfigNode) throws -> RetryPolicy {
        try node.allowOnly(["attempts", "backoff_ms", "max_backoff_ms"])
        // attempts counts the first try too.
        let attempts = try node["attempts"]?.int(in: 1...100) ?? 2
        return RetryPolicy(
            attempts: attempts, backoff: .milliseconds(try node["backoff_ms"]?.int(in: 0...Limits.hour) ?? 200),
            maxBackoff: .milliseconds(try node["max_backoff_ms"]?.int(in: 0...Limits.hour) ?? 5000))
    }
}

/// The `${NAME}` and `${NAME:-default}` references of a config text. They are swapped for inert
/// placeholders before the YAML is parsed, and resolved inside scalar values after it: a value can
/// hold any text (`: `, `#`, newlines, `{`) and stays one scalar.
struct EnvironmentReferences {
    struct Reference {
        var name: String
        var fallback: String?
    }

    private(set) var template = ""
    private(set) var references: [Reference] = []
    private static let prefix = "__SWITCHYARD_ENV_"
    private static let suffix = "__"

    init(_ text: String, source: String) throws {
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            template += rest[..<start.lowerBound]
            let line = text[..<start.lowerBound].filter { $0 == "\n" }.count + 1
            var cursor = start.upperBound
            var name = ""
            while cursor < rest.endIndex, rest[cursor].isLetter || rest[cursor].isNumber || rest[cursor] == "_" {
                name.append(rest[cursor])
                cursor = rest.index(after: cursor)
            }
            var fallback: String?
            if rest[cursor...].hasPrefix(":-") {
                cursor = rest.index(cursor, offsetBy: 2)
                var value = ""
                while cursor < rest.endIndex, rest[cursor] != "}", rest[cursor] != "\n" {
                    value.append(rest[cursor])
                    cursor = rest.index(after: cursor)
                }
                fallback = value
            }
            guard !name.isEmpty, cursor < rest.endIndex, rest[cursor] == "}" else {
                throw SwitchyardError.configuration(
                    "\(source):\(line): `${` must be followed by a variable name and a closing `}`, as in ${OPENAI_API_KEY} or ${PORT:-4000}.")
            }
            template += Self.prefix + String(references.count) + Self.suffix
            references.append(Reference(name: name, fallback: fallback))
            rest = rest[rest.index(after: cursor)...]
        }
        template += rest
    }

    /// `node` with every placeholder replaced by its value; `unset` collects, by config path, the
    /// variables that were unset or empty (and had no non-empty default).
    func resolve(_ node: Node, path: String, environment: [String: String], unset: inout [String: [String]]) -> Node {
        guard !references.isEmpty else { return node }
        switch node {
        case .scalar(let scalar):
            guard scalar.string.contains(Self.prefix) else { return node }
            var missing: [String] = []
            let value = substitute(scalar.string, environment: environment, missing: &missing)
            if !missing.isEmpty { unset[path, default: []] += missing }
            // A plain scalar stays plain, with its type resolved from the value (a port, a boolean);
            // a quoted one stays a string.
            let plain = scalar.style == .plain || scalar.style == .any
            return .scalar(Node.Scalar(value, plain ? Tag(.implicit) : scalar.tag, scalar.style, scalar.mark))
        case .mapping(let mapping):
            var pairs: [(Node, Node)] = []
            for (key, value) in mapping {
                let resolvedKey = resolve(key, path: path, environment: environment, unset: &unset)
                let name = resolvedKey.string ?? "?"
                pairs.append((resolvedKey, resolve(value, path: path.isEmpty ? name : "\(path).\(name)", environment: environment, unset: &unset)))
            }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        case .sequence(let sequence):
            let nodes = sequence.enumerated().map { index, item in
                resolve(item, path: "\(path)[\(index)]", environment: environment, unset: &unset)
            }
            return .sequence(Node.Sequence(nodes, sequence.tag, sequence.style, sequence.mark))
        case .alias:
            return node
        }
    }

    private func substitute(_ text: String, environment: [String: String], missing: inout [String]) -> String {
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: Self.prefix) {
            output += rest[..<start.lowerBound]
            var cursor = start.upperBound
            var digits = ""
            while cursor < rest.endIndex, let digit = rest[cursor].wholeNumberValue, rest[cursor].isASCII {
                digits += String(digit)
                cursor = rest.index(after: cursor)
            }
            guard let index = Int(digits), index < references.count, rest[cursor...].hasPrefix(Self.suffix) else {
                output += rest[start]
                rest = rest[start.upperBound...]
                continue
            }
            let reference = references[index]
            let value = environment[reference.name] ?? ""
            if value.isEmpty {
                let fallback = reference.fallback ?? ""
                if fallback.isEmpty { missing.append(reference.name) }
                output += fallback
            } else {
                output += value
            }
            rest = rest[rest.index(cursor, offsetBy: Self.suffix.count)...]
        }
        output += rest
        return output
    }
}

/// Bounds of numeric settings: generous for any real deployment, small enough that no arithmetic on
/// them (durations in attoseconds, token sums, byte counts) can overflow.
enum Limits {
    static let hour = 3_600_000  // milliseconds
    static let day = 86_400_000  // milliseconds
    static let count = 1_000_000_000
    static let difficulty = -1000...1000
    static let maximumBodyBytes = 1 << 31
    static let maximumCacheBytes = 1 << 40
    static let maximumTTLSeconds = 31_536_000.0 * 10  // ten years
    /// USD per million tokens.
    static let price = 0.0...1_000_000.0
}

/// A YAML node with its path, so that errors can say where and what.
struct ConfigNode {
    let node: Node
    let path: String
    let source: String

    subscript(key: String) -> ConfigNode? {
        guard case .mapping(let mapping) = node, let value = mapping[key] else { return nil }
        if case .scalar(let scalar) = value, scalar.string == "~" || (scalar.string.isEmpty && scalar.style == .plain) {
            return nil
        }
        return ConfigNode(node: value, path: path.isEmpty ? key : "\(path).\(key)", source: source)
    }

    func required(_ key: String) throws -> ConfigNode {
        guard let value = self[key] else { throw error("missing required field `\(key)`") }
        return value
    }

    func error(_ message: String) -> SwitchyardError {
        let line = node.mark.map { ":\($0.line)" } ?? ""
        let field = path.isEmpty ? "" : " \(path):"
        return SwitchyardError.configuration("\(source)\(line):\(field) \(message)")
    }

    func allowOnly(_ keys: Set<String>) throws {
        guard case .mapping(let mapping) = node else {
            throw error("must be a mapping (key: value pairs)")
        }
        for (key, _) in mapping {
            let name = key.string ?? "?"
            if !keys.contains(name) {
                throw ConfigNode(node: key, path: path.isEmpty ? name : "\(path).\(name)", source: source).error(
                    "unknown field `\(name)`; allowed here: \(keys.sorted().joined(separator: ", "))")
            }
        }
    }

    func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("must be a single value (a string)") }
        return scalar.string
    }

    /// A whole number in `range`; the error names the field, the line and the range.
    func int(in range: ClosedRange<Int>) throws -> Int {
        guard case .scalar = node, let value = node.int, range.contains(value) else {
            throw error("must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A finite number in `range` (`.inf`, `.nan` and 1e400 are refused, never carried into arithmetic).
    func double(in range: ClosedRange<Double>) throws -> Double {
        guard case .scalar = node, let value = node.float ?? node.int.map(Double.init), value.isFinite, range.contains(value) else {
            throw error("must be a number from \(NumberText.plain(range.lowerBound)) to \(NumberText.plain(range.upperBound))")
        }
        return value
    }

    /// Seconds in `range` as a `Duration` (milliseconds precision).
    func seconds(in range: ClosedRange<Double>) throws -> Duration {
        .milliseconds(Int64((try double(in: range) * 1000).rounded()))
    }

    func list() throws -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("must be a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", source: source) }
    }

    func strings() throws -> [String] {
        try list().map { try $0.string() }
    }

    func stringMap() throws -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error("must be a mapping of names to values") }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            let name = key.string ?? ""
            result[name] = try ConfigNode(node: value, path: "\(path).\(name)", source: source).string()
        }
        return result
    }
}
