import Crypto
import Caching
import Foundation
import LearnedRouting
import Routing
import SwitchyardCore
import Tools
import Workflows

/// Everything Switchyard runs with, as read from one YAML file.
public struct SwitchyardConfiguration: Sendable {
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 4000
        /// Largest request body accepted, in bytes.
        public var maxBodyBytes = 10 * 1024 * 1024
        /// `server.fast_path`: plain chat completions answered on the event loop, without the full
        /// pipeline's hops (see `Gateway.fastBegin`); whatever it cannot serve exactly as the full pipeline would takes
        /// the full pipeline (README, "The fast path"). `false` sends every request through the full pipeline.
        public var fastPath = true
        /// `server.backlog`: connections the kernel queues before the gateway accepts them (capped by the kernel's
        /// `net.core.somaxconn`). A thousand clients arriving at once overflow a queue of 256, and each dropped SYN
        /// costs its client a one-second retransmit.
        public var backlog = 4096
        public init() {}
    }

    public struct Storage: Sendable {
        /// Path of the SQLite file; `:memory:` for none.
        public var sqlitePath = "switchyard.db"
        /// How often queued request-log lines are written, in milliseconds.
        public var flushMilliseconds = 200
        /// `storage.postgres`: a `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` URL. When set, every
        /// store lives in that PostgreSQL database and replicas share it; `sqlitePath` is then unused.
        public var postgresURL: String?
        /// `storage.spool`: where a replica keeps request-log lines until they are stored (PostgreSQL only).
        /// Replicas that share this directory store the lines of one that died.
        public var spoolDirectory = "switchyard-spool"
        public init() {}
    }

    /// `observability:`: how metrics are read.
    public struct Observability: Sendable {
        /// A bearer token that may read `GET /metrics` (besides admin keys), for a Prometheus scraper.
        public var metricsToken: String?
        /// False turns the metrics off (nothing is counted; `/metrics` is a 404).
        public var metrics = true
        /// `observability.tracing`, as the `OTEL_*` variables it stands for; the process's own variables win.
        public var tracing: [String: String] = [:]
        public init() {}
    }

    /// What the request log keeps beyond accounting.
    public struct RequestLogSettings: Sendable {
        /// Keep each chat request's last user turn (as it went upstream, after the input guard; at
        /// most 8 KB) for training routers from traffic. Off by default: prompts are user data.
        public var storePrompts = false
        /// `request_log.retention_days`: records (and feedback) older than this many whole UTC days are deleted,
        /// their spend kept in daily roll-ups so budgets stay exact; nil keeps everything.
        public var retentionDays: Int?
        public init() {}
    }

    /// An API key clients present; plain strings in the config are unrestricted keys.
    public struct APIKey: Sendable, Hashable {
        public let key: String
        public var name: String
        /// Models (glob patterns) the key may use; `nil` = all.
        public var models: [String]?
        /// Tools (glob patterns) the key may see and call; `nil` = all.
        public var tools: [String]?
        /// Groups whose restricted documents the key may retrieve (`*` = all); none = public documents only.
        public var groups: [String] = []
        /// The key's role. Without `role:` a key is a `member` when any key of the config names a
        /// role, and an `admin` when none does (configs from before roles keep working unchanged).
        public var role: Role = .admin
        /// May create, delete and change collections (default: admins only).
        public var collectionWrite: Bool?
        public var budget: Budget?
        public var rpm: Int?
        public var tpm: Int?
        /// Labels for cost attribution in the spend ledger.
        public var tags: [String: String] = [:]

        /// `key_` and 16 hex digits of the secret's SHA-256: stable across reorderings and renames,
        /// and safe to show (cache namespaces, logs). Computed once, at load.
        public let id: String

        public init(key: String, name: String, models: [String]? = nil, tools: [String]? = nil) {
            self.key = key
            self.name = name
            self.models = models
            self.tools = tools
            self.id = "key_" + hexString(SHA256.hash(data: Data(key.utf8)).prefix(8))
        }
    }

    /// A public model name that stands for several deployments, tried by a strategy, with retries and fallbacks.
    public struct ModelGroup: Sendable {
        public struct Deployment: Sendable, Hashable {
            /// A model from `models:`.
            public var model: String
            public var weight: Double
            /// Requests and tokens per minute this deployment may take (usage-headroom strategy).
            public var rpm: Int?
            public var tpm: Int?

            public init(model: String, weight: Double = 1, rpm: Int? = nil, tpm: Int? = nil) {
                self.model = model
                self.weight = weight
                self.rpm = rpm
                self.tpm = tpm
            }
        }

        public var name: String
        public var strategy: RoutingStrategy
        public var deployments: [Deployment]
        /// Other groups or models tried, in order, when every deployment here failed.
        public var fallbacks: [String]
        /// Group or model used when the prompt does not fit any deployment's context window.
        public var contextFallback: String?
        public var retry: RetryPolicy
        /// Deadline for the whole request, across all attempts and fallbacks.
        public var timeout: Duration?

        public init(
            name: String, strategy: RoutingStrategy = .priority, deployments: [Deployment], fallbacks: [String] = [],
            contextFallback: String? = nil, retry: RetryPolicy = RetryPolicy(), timeout: Duration? = nil
        ) {
            self.name = name
            self.strategy = strategy
            self.deployments = deployments
            self.fallbacks = fallbacks
            self.contextFallback = contextFallback
            self.retry = retry
            self.timeout = timeout
        }
    }

    /// A route that classifies each request and sends it to the cheapest tier whose bar it meets.
    public struct AutoRoute: Sendable {
        public struct Tier: Sendable {
            public var name: String
            /// Groups or models of this tier.
            public var targets: [String]
            /// Highest difficulty this tier is trusted with; nil = any.
            public var maxDifficulty: Int?

            public init(name: String, targets: [String], maxDifficulty: Int? = nil) {
                self.name = name
                self.targets = targets
                self.maxDifficulty = maxDifficulty
            }
        }

        public var name: String
        /// Rules: always present (the fallback when a learned classifier is configured too).
        public var classifier: RuleClassifier
        /// Labelled examples for the nearest-neighbour classifier, which then decides instead of the rules.
        public var examples: [NearestNeighbourClassifier.Example]?
        public var neighbours = 5
        /// A trained router (`switchyard route train`) that decides instead of the rules, with its score
        /// thresholds (ascending; one per tier boundary). Rules still set a floor on the difficulty.
        public var learnedRouter: LearnedRouter?
        public var learnedThresholds: [Double] = []
        public var tiers: [Tier]
        public var constraints: RouteConstraints
        public var retry: RetryPolicy
        public var timeout: Duration?

        public init(
            name: String, classifier: RuleClassifier, tiers: [Tier], constraints: RouteConstraints = .init(),
            retry: RetryPolicy = RetryPolicy(), timeout: Duration? = nil
        ) {
            self.name = name
            self.classifier = classifier
            self.tiers = tiers
            self.constraints = constraints
            self.retry = retry
            self.timeout = timeout
        }
    }

    /// Response caching: a default policy, per-name overrides, size and persistence.
    public struct Cache: Sendable {
        /// Policy for names without their own; nil = caching off unless a model/group/route turns it on.
        public var defaultPolicy: CachePolicy?
        /// Policies by model, group or route name.
        public var policies: [String: CachePolicy] = [:]
        public var maxBytes = 256 * 1024 * 1024
        /// Keep cached answers in SQLite so they survive restarts.
        public var persistent = false
        public var sideEffectTools: [String]?
        public init() {}

        public func policy(for name: String) -> CachePolicy? { policies[name] ?? defaultPolicy }
        public var isEnabled: Bool { defaultPolicy != nil || !policies.isEmpty }
    }

    public var server = Server()
    public var storage = Storage()
    public var providers: [ProviderConfiguration] = []
    public var models: [ModelSpec] = []
    public var keys: [APIKey] = []
    public var groups: [ModelGroup] = []
    public var autoRoutes: [AutoRoute] = []
    /// Traffic splits between variants (models, groups or routes), asked for by their names.
    public var experiments: [Experiment] = []
    public var requestLog = RequestLogSettings()
    public var observability = Observability()
    public var cache = Cache()
    /// Collections, indexes, packing, and grounding per model name.
    public var retrieval = RetrievalConfiguration()
    public var circuitBreaker = CircuitBreakerPolicy()
    /// Retries for a request that names a plain model (not a group): none unless configured.
    public var modelRetry = RetryPolicy(attempts: 1)
    /// MCP servers and the server-side tool loop.
    public var mcp = MCPConfiguration()
    /// Guardrail policies and where they apply.
    public var guardrails = GuardrailsConfiguration()
    /// MCP tools (glob patterns over exposed names) offered by a model, group or route name.
    public var toolPolicies: [String: [String]] = [:]
    /// Where the local embedding model lives (`nil`: the default cache folder).
    public var localModelDirectory: String?
    /// Precision of the vectors `/v1/embeddings` serves from the local model: float32, the
    /// reference library's vectors, unless configured otherwise.
    public var localEmbeddingPrecision: EmbeddingPrecision = .float32
    /// Precision of the local model where only the gateway sees its vectors (semantic cache,
    /// routing, collections): bfloat16, half the latency, unless configured otherwise.
    public var internalEmbeddingPrecision: EmbeddingPrecision = .bfloat16
    /// Where the file was read from, for messages.
    public var source = "<config>"

    public init() {}

    /// True when clients must present a key.
    public var requiresAuth: Bool { !keys.isEmpty }

    /// What the `auth:` section said beyond its keys, for `serve`'s fail-closed checks.
    public struct AuthSettings: Sendable {
        /// `auth: {enabled: false}`: no keys, on purpose.
        public var explicitlyOff = false
        /// Entries of `auth.keys` that resolved to nothing (`${VAR}` unset), described for an error.
        public var emptyKeys: [String] = []
        /// True when `auth.keys` listed at least one entry.
        public var keysListed = false
        public init() {}
    }
    public var auth = AuthSettings()
    /// `workflows:`, checked at load; clients call each as the model `workflow/NAME`.
    public var workflows: [WorkflowSpec] = []

    /// `${VAR}`s that were unset or empty, by the config path of the value they were in
    /// (`providers[0].api_key` → `["OPENAI_API_KEY"]`), so warnings and errors can name them.
    public var unsetVariables: [String: [String]] = [:]

    /// Why `serve` must not start on `host` with this configuration (fail closed), or nil.
    /// - Parameter allowUnauthenticated: the operator's explicit consent to no auth on a public address.
    public func startupProblem(host: String, allowUnauthenticated: Bool) -> String? {
        if auth.keysListed, keys.isEmpty, !auth.explicitlyOff {
            return "\(source): auth.keys lists keys, but every one is empty (\(auth.emptyKeys.joined(separator: "; "))). "
                + "Set the variable(s), or turn auth off explicitly with `auth: {enabled: false}`."
        }
        if !requiresAuth, !auth.explicitlyOff, !allowUnauthenticated, !Self.isLoopback(host) {
            return "Refusing to serve on \(host) with no API keys: anyone who can reach it could spend your provider credits. "
                + "Add keys (`auth: {keys: [\"${SWITCHYARD_KEY}\"]}`), listen on 127.0.0.1, or pass --allow-unauthenticated "
                + "(or set `auth: {enabled: false}`) if that is really what you want."
        }
        return nil
    }

    /// Loopback hosts: `127.0.0.0/8`, `::1`, `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        let lowered = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return lowered == "localhost" || lowered == "::1" || lowered.hasPrefix("127.")
    }
}
