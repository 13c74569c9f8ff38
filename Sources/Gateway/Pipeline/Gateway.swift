import AsyncHTTPClient
import Caching
import Evaluation
import Foundation
import Governance
import Guardrails
import LearnedRouting
import Logging
import Providers
import Retrieval
import Routing
import Storage
import SwitchyardCore
import Synchronization
import Tools
import Workflows

/// The request pipeline, independent of HTTP: the server, the CLI, workflows and evaluations call it.
public final class Gateway: Sendable {
    /// The shared database's health (PostgreSQL replicas); nil with the embedded SQLite file.
    private let storageProbeSlot = Mutex<(any StorageProbe)?>(nil)
    public var storageProbe: (any StorageProbe)? { storageProbeSlot.withLock { $0 } }
    public func useStorageProbe(_ probe: any StorageProbe) { storageProbeSlot.withLock { $0 = probe } }
    public let configuration: SwitchyardConfiguration
    public let requestLog: RequestLog
    let models: [String: ModelSpec]
    let providers: [String: any Provider]
    /// The HTTP clients provider calls go through (their connection counts are read for `/metrics`).
    let upstreamClients: UpstreamClients
    /// Keys (config and API), teams, budgets, rate limits, audit.
    public let governor: Governor
    let localEmbedders: LocalEmbedders
    let logger: Logger
    /// Breakers and live statistics of every deployment.
    public let health: DeploymentHealth
    let planner: RoutePlanner
    /// The response cache, when any model or route has caching on.
    public let cache: ResponseCache?
    /// Collections, ingestion and search (grounded chat and the collections API).
    public let collections: CollectionService
    /// The MCP servers and their tools, when any are configured. Run it as a service (`makeApplication` does).
    public let tools: ToolManager?
    /// Stored Responses API responses (`store: true`), for `previous_response_id` and `GET`.
    let responses: ResponseArchive
    /// Files and batches (`/v1/files`, `/v1/batches`, `/v1/messages/batches`); nil only when not
    /// even an in-memory database could be opened.
    let batchStore: (any BatchPersistence)?
    /// Uploaded eval reports (`/v1/switchyard/eval-reports`); nil only when not even an in-memory
    /// database could be opened.
    let evalReportStore: (any EvalReportPersistence)?
    /// The report last read back as a run: paging through one report's cells parses its file once.
    let lastEvalReportRun = Mutex<(id: String, run: EvalRun)?>(nil)
    /// Wakes the `BatchRunner` when a batch is created or cancelled.
    let batchSignal = BatchSignal()
    /// Batches cancelled since the runner last looked: it stops starting their requests at once.
    let cancelRequested = Mutex<Set<String>>([])
    /// True while a `BatchRunner` runs over this gateway (there is one at a time).
    let batchRunnerActive = Mutex(false)
    /// Finds prompt injections and personal data for the guardrail policies; nil when this build
    /// has none, and then every request a policy covers fails closed (or open, with `on_error: allow`).
    let guardDetector: (any GuardDetector)?
    /// Workflow runs and their checkpoints (the SQLite file under `serve`; in memory otherwise), every write told
    /// to `workflowEvents`.
    let workflowRuns: any WorkflowCheckpointStore
    /// The run store's leases when replicas share it (PostgreSQL): `WorkflowLeaseService` keeps them.
    let workflowLeases: (any WorkflowRunLeasing)?
    /// Step and status events of runs, for `GET …/runs/ID/events`.
    public let workflowEvents = WorkflowEventHub()
    /// Prometheus metrics (`GET /metrics`).
    public let metrics: GatewayMetrics
    /// Label centroids of `classify` steps by embedding.
    let workflowCentroids = ClassifierCentroids()
    /// Failed fast-path attempts on their way to the full path (see `Gateway.fastFinish`).
    let fastAttempts = FastAttempts()
    /// Workflows by name.
    let workflows: [String: WorkflowSpec]
    /// Runs started through the runs API, waiting for the `WorkflowService`.
    let workflowQueue = WorkflowQueue()
    /// Runs this process is executing: a run is never executed twice at once (start-up resumes and new runs race).
    let activeWorkflowRuns = Mutex<Set<String>>([])
    /// True while a `WorkflowService` runs over this gateway: the queue has one reader.
    let workflowServiceActive = Mutex(false)

    /// The name the native embedding model is served under.
    public static let localEmbeddingModel = "local/all-minilm-l6-v2"

    /// - Parameters:
    ///   - upstreamClients: the HTTP clients provider and MCP calls go through (`makeUpstreamClients()`;
    ///     the caller shuts them down). The default is AsyncHTTPClient's process-wide client.
    ///   - localEmbedderFactory: loads a native embedding model by name at a precision; called once
    ///     per name and precision, on first use.
    ///   - guardDetector: the detector guardrail policies run (see `GuardDetector`); made once, by the
    ///     caller (`serve` passes the native one when the configuration has policies).
    public init(
        configuration: SwitchyardConfiguration, upstreamClients: UpstreamClients = .processWide,
        requestLog: RequestLog, localEmbedderFactory: (@Sendable (String, EmbeddingPrecision) throws -> any TextEmbedder)? = nil,
        cachePersistence: (any CachePersistence)? = nil,
        cacheClock: @escaping @Sendable () -> Date = { Date() },
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        retrievalPersistence: (any RetrievalPersistence)? = nil, indexDirectory: URL? = nil, indexFactory: IndexFactory = .standard,
        governancePersistence: (any GovernancePersistence)? = nil, now: @escaping @Sendable () -> Date = { Date() },
        responsePersistence: (any ResponsePersistence)? = nil,
        batchPersistence: (any BatchPersistence)? = nil,
        guardDetector: (any GuardDetector)? = nil,
        workflowPersistence: (any WorkflowCheckpointStore)? = nil,
        evalReportPersistence: (any EvalReportPersistence)? = nil,
        logger: Logger = Logger(label: "switchyard.gateway")
    ) {
        self.configuration = configuration
        let metrics = GatewayMetrics(
            knownNames: Set(
                configuration.models.map(\.name) + configuration.groups.map(\.name) + configuration.autoRoutes.map(\.name)
                    + configuration.experiments.map(\.name) + configuration.workflows.map { ConfigurationLoader.workflowModelPrefix + $0.name }
                    + configuration.workflows.map { Self.workflowToolPrefix + $0.name } + Self.builtInTools + [Self.localEmbeddingModel]))
        self.metrics = metrics
        self.workflowLeases = workflowPersistence as? any WorkflowRunLeasing
        self.workflowRuns = PublishingCheckpointStore(
            base: workflowPersistence ?? InMemoryWorkflowCheckpointStore(), hub: workflowEvents, metrics: metrics)
        self.workflows = Dictionary(configuration.workflows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.guardDetector = guardDetector
        self.responses = ResponseArchive(persistence: responsePersistence, logger: logger)
        self.batchStore = batchPersistence ?? (try? BatchStore(path: ":memory:"))
        self.evalReportStore = evalReportPersistence ?? (try? EvalReportStore(path: ":memory:"))
        self.requestLog = requestLog
        self.logger = logger
        var providers: [String: any Provider] = [:]
        let clients = upstreamClients
        self.upstreamClients = upstreamClients
        for provider in configuration.providers {
            providers[provider.name] = ProviderFactory.make(provider, clients: clients)
        }
        self.providers = providers
        var models: [String: ModelSpec] = [:]
        for model in configuration.models { models[model.name] = model }
        if models[Self.localEmbeddingModel] == nil, localEmbedderFactory != nil {
            models[Self.localEmbeddingModel] = ModelSpec(
                name: Self.localEmbeddingModel, kind: .embedding, provider: "local", price: Price(input: 0, output: 0),
                contextWindow: 256, capabilities: [.embeddings], tags: ["local"])
        }
        self.models = models
        self.governor = Governor(
            configKeys: configuration.keys.map { key in
                Governor.configKey(
                    secret: key.key, name: key.name, role: key.role, models: key.models, tools: key.tools, groups: key.groups,
                    collectionWrite: key.collectionWrite, budget: key.budget, rpm: key.rpm, tpm: key.tpm, tags: key.tags)
            },
            persistence: governancePersistence, now: now, clock: clock)
        self.localEmbedders = LocalEmbedders(factory: localEmbedderFactory)
        // The semantic cache and a learned router embed the same last user turn: once is enough.
        let internalPrecision = configuration.internalEmbeddingPrecision
        let recentEmbeddings = RecentEmbeddings(
            LazyEmbedder(name: Self.localEmbeddingModel, precision: internalPrecision, embedders: localEmbedders))
        self.collections = CollectionService(
            persistence: retrievalPersistence ?? InMemoryRetrievalPersistence(), indexDirectory: indexDirectory, indexes: indexFactory,
            embedding: Self.retrievalEmbedding(
                models: models, providers: providers, localEmbedders: localEmbedders, precision: internalPrecision,
                recent: recentEmbeddings, logger: logger),
            settings: configuration.retrieval.settings, logger: logger)
        self.tools = configuration.mcp.servers.isEmpty
            ? nil : ToolManager(configuration: configuration.mcp, httpClient: clients.shared, logger: logger)
        if configuration.cache.isEnabled {
            let embedder: (any TextEmbedder)? = localEmbedderFactory == nil ? nil : recentEmbeddings
            var cache = ResponseCache(
                capacityBytes: configuration.cache.maxBytes, embedder: embedder, persistence: cachePersistence, now: cacheClock)
            if let tools = configuration.cache.sideEffectTools {
                cache = ResponseCache(
                    capacityBytes: configuration.cache.maxBytes, embedder: embedder, persistence: cachePersistence,
                    sideEffectTools: tools, now: cacheClock)
            }
            self.cache = cache
        } else {
            self.cache = nil
        }
        let health = DeploymentHealth(policy: configuration.circuitBreaker, now: clock)
        self.health = health
        var learned: [String: any RequestClassifier] = [:]
        if localEmbedderFactory != nil {
            for route in configuration.autoRoutes {
                if let router = route.learnedRouter {
                    learned[route.name] = LearnedClassifier(router: router, thresholds: route.learnedThresholds, embedder: recentEmbeddings)
                    continue
                }
                guard let examples = route.examples else { continue }
                learned[route.name] = NearestNeighbourClassifier(
                    examples: examples, k: route.neighbours,
                    embedder: LazyEmbedder(name: Self.localEmbeddingModel, precision: internalPrecision, embedders: localEmbedders))
            }
        }
        self.planner = RoutePlanner(
            models: models, groups: Dictionary(configuration.groups.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
            autoRoutes: Dictionary(configuration.autoRoutes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
            learned: learned, health: health, modelRetry: configuration.modelRetry)
        if configuration.observability.metrics { requestLog.observe { metrics.observe($0) } }
        let tools = self.tools
        metrics.isKnownTool = { name in tools?.tool(named: name) != nil }
    }

    // MARK: Admission

    /// True when any key exists (in the config or created through the keys API).
    public var requiresAuth: Bool { governor.hasKeys }

    /// Checks the key a client presented (a hash lookup in memory); with no keys at all everyone is
    /// `anonymous`. Unknown, revoked and expired keys are 401s that say which.
    /// - Parameter hashes: where the fast path keeps the hashes of keys it has seen (per event loop).
    public func authenticate(_ presented: String?, hashes: FastRequestMemo? = nil) throws -> Caller {
        guard requiresAuth else { return .anonymous }
        guard let presented, !presented.isEmpty else {
            throw SwitchyardError.authentication(
                "Missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
        }
        let hash = hashes?.keyHash(presented) ?? Governor.hash(presented)
        switch governor.authenticate(hash: hash) {
        case .success(let (key, _)): return Caller(key)
        case .failure(.unknown): throw SwitchyardError.authentication("Invalid API key.")
        case .failure(.revoked(let name)): throw SwitchyardError.authentication("The API key '\(name)' was revoked.")
        case .failure(.expired(let name)): throw SwitchyardError.authentication("The API key '\(name)' has expired.")
        }
    }

    /// Models the caller may use, in configuration order.
    public func availableModels(for caller: Caller = .anonymous) -> [ModelSpec] {
        var ordered = configuration.models
        if let local = models[Self.localEmbeddingModel], !ordered.contains(where: { $0.name == local.name }) {
            ordered.append(local)
        }
        return ordered.filter { GlobPattern.allows(caller.allowedModels, $0.name) }
    }

    /// Groups (routes) the caller may use.
    public func availableGroups(for caller: Caller = .anonymous) -> [SwitchyardConfiguration.ModelGroup] {
        configuration.groups.filter { GlobPattern.allows(caller.allowedModels, $0.name) }
    }

    /// Auto routes the caller may use.
    public func availableRoutes(for caller: Caller = .anonymous) -> [SwitchyardConfiguration.AutoRoute] {
        configuration.autoRoutes.filter { GlobPattern.allows(caller.allowedModels, $0.name) }
    }

    func resolve(_ name: String, kind: ModelSpec.Kind, caller: Caller) throws -> ModelSpec {
        guard let model = models[name], GlobPattern.allows(caller.allowedModels, name) else {
            throw SwitchyardError.modelNotFound(
                name, available: availableModels(for: caller).filter { $0.kind == kind }.map(\.name))
        }
        guard model.kind == kind else {
            let endpoint = kind == .chat ? "chat" : "embeddings"
            throw SwitchyardError.invalidRequest(
                "The model '\(name)' is an \(model.kind.rawValue) model and cannot serve \(endpoint) requests.",
                param: "model")
        }
        return model
    }

    func provider(for model: ModelSpec) throws -> any Provider {
        guard let provider = providers[model.provider] else {
            throw SwitchyardError.configuration("Model '\(model.name)' names provider '\(model.provider)', which is not configured.")
        }
        return provider
    }

    // MARK: Embeddings

    func newEmbeddingRecord(_ request: EmbeddingRequest, context: CallContext) -> RequestRecord {
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name,
            clientProtocol: context.clientProtocol.rawValue, endpoint: "embeddings", model: request.model)
        record.ledger(context.caller, user: request.user)
        return record
    }

    /// Admits an embeddings request under its rate limits; a refusal is a line in the request log,
    /// as for chat.
    public func admitOrLog(_ request: EmbeddingRequest, context: CallContext) async throws -> CallContext {
        do {
            return try await admit(request, context: context)
        } catch {
            var record = newEmbeddingRecord(request, context: context)
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw Self.annotate(error, record: record)
        }
    }

    public func embed(_ request: EmbeddingRequest, context: CallContext) async throws -> EmbeddingResponse {
        var record = newEmbeddingRecord(request, context: context)
        var reservation = Governor.Reservation.none
        do {
            let context = try await admit(request, context: context)
            if let key = context.caller.key {
                // A token id stands for about four bytes of text.
                let bytes = request.tokenInput == nil ? request.input.reduce(0) { $0 + $1.utf8.count + 8 } : 4 * request.estimatedTokens
                if let model = models[request.model] {
                    do {
                        reservation = try await governor.reserve(key, usd: Double(bytes) * model.price.input / 1_000_000)
                    } catch is Governor.BudgetExceeded {
                        throw SwitchyardError(code: .budgetExceeded, message: "The budget of key '\(context.caller.name)' or its team has too little left for this request.", status: 429)
                    }
                }
            }
            guard request.inputCount > 0 else {
                throw SwitchyardError.invalidRequest("input must not be empty.", param: "input")
            }
            let model = try resolve(request.model, kind: .embedding, caller: context.caller)
            record.provider = model.provider
            record.upstreamModel = model.upstream
            record.servedModel = model.name
            var response: EmbeddingResponse
            if model.provider == "local" {
                if request.tokenInput != nil { throw SwitchyardError.tokenInputNeedsText("the native local model") }
                let embedder = try localEmbedders.embedder(named: model.upstream, precision: configuration.localEmbeddingPrecision)
                if let dimensions = request.dimensions, dimensions != embedder.dimensions {
                    throw SwitchyardError.invalidRequest(
                        "The model '\(model.name)' returns \(embedder.dimensions) dimensions; dimensions=\(dimensions) is not supported.",
                        param: "dimensions")
                }
                let batch = try await embedder.embed(request.input)
                response = EmbeddingResponse(
                    model: model.name, vectors: batch.vectors,
                    usage: Usage(promptTokens: batch.promptTokens, completionTokens: 0))
            } else {
                var upstream = request
                upstream.model = model.upstream
                response = try await provider(for: model).embed(upstream, options: CallOptions(logger: context.logger))
                response.model = model.name
            }
            let cost = model.cost(of: response.usage, batch: context.batch)
            governor.settle(reservation, actualUSD: cost)
            reservation = .none
            record.fill(usage: response.usage, cost: cost)
            record.latencyMs = context.elapsedMilliseconds
            requestLog.record(record)
            return response
        } catch {
            governor.settle(reservation, actualUSD: 0)
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw Self.annotate(error, record: record)
        }
    }

    /// Provider of a model name (for the response header).
    public func providerName(of model: String) -> String? { models[model]?.provider }

    /// Cost of an embedding response for a model name (for the response header).
    public func cost(of usage: Usage, model name: String) -> Double {
        models[name].map { $0.price.cost(of: usage) } ?? 0
    }

    // MARK: Helpers

    /// The HTTP clients upstream calls go through: one per event loop plus a shared one (see
    /// `UpstreamClients`). Connection failures are not retried inside the client: the router's own
    /// retries, fallbacks and breakers decide what happens next, at once.
    public static func makeUpstreamClients() -> UpstreamClients {
        UpstreamClients(configuration: httpClientConfiguration)
    }

    static var httpClientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.timeout.read = .seconds(300)  // idle time between bytes of a response
        // HTTP/1.1 upstreams (local servers; providers on HTTPS negotiate HTTP/2 and multiplex): at 256 per loop, 488
        // of a thousand concurrent streams waited for another stream to end before they started.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1_024
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .enabled(limit: .ratio(50))
        configuration.tracing.tracer = nil  // `UpstreamHTTP` sends `traceparent` from the attempt's own span
        return configuration
    }

    static func estimateUsage(request: ChatRequest, response: ChatResponse) -> Usage {
        let message = response.message
        var completion = TokenEstimator.estimate(message?.text ?? "")
        for call in message?.toolCalls ?? [] {
            completion += TokenEstimator.estimate(call.function.name) + TokenEstimator.estimate(call.function.arguments)
        }
        return Usage(promptTokens: TokenEstimator.estimate(request), completionTokens: completion, estimated: true)
    }

    static func extensionObject(
        context: CallContext, model: ModelSpec, provider: String, cost: Double, usage: Usage, trace: RouteTrace? = nil,
        cache: CachedAnswer? = nil
    ) -> JSONValue {
        var object: [String: JSONValue] = [
            "request_id": .string(context.requestID), "cost_usd": .double(cost), "model": .string(model.name),
            "provider": .string(provider), "usage_estimated": .bool(usage.estimated),
        ]
        if let cache {
            object["cache"] = .string(cache.kind.rawValue)
            object["saved_usd"] = .double(cache.savedCostUSD)
            if let similarity = cache.similarity { object["cache_similarity"] = .double(similarity) }
        }
        if let trace, trace.kind != "model" {
            object["route"] = .string(trace.requested)
            object["attempts"] = .int(Int64(trace.attempts.count))
        }
        return .object(object)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? SwitchyardError { return error.message }
        if error is CancellationError { return "cancelled (client went away)" }
        return String(describing: error)
    }
}

extension RequestRecord {
    /// The spend ledger's dimensions of a request: its key, team, user and tags.
    mutating func ledger(_ caller: Caller, user: String?) {
        keyID = caller.key?.id
        team = caller.team
        self.user = user.map { String($0.prefix(256)) }
        tags = caller.tags.isEmpty ? nil : caller.tags
    }

    /// The request's episode and experiment variant; under an experiment, `model` is the
    /// experiment's name (what the client asked for), not the variant's target.
    mutating func mark(_ context: CallContext) {
        episodeID = context.episodeID
        if let assignment = context.experiment {
            variant = assignment.label
            model = assignment.experiment
        }
    }

    mutating func fill(usage: Usage, cost: Double) {
        promptTokens = usage.promptTokens
        completionTokens = usage.completionTokens
        cachedTokens = usage.cachedTokens
        usageEstimated = usage.estimated
        costUSD = cost
    }

    mutating func fail(_ error: any Error, latencyMs: Double) {
        self.latencyMs = latencyMs
        if let error = error as? SwitchyardError {
            status = error.status
            self.error = error.message
        } else if error is CancellationError {
            status = 499
            self.error = "cancelled (client went away)"
        } else {
            status = 500
            self.error = String(describing: error)
        }
    }
}

/// The local embedding model, loaded on first use (the semantic cache asks for it lazily so the
/// gateway starts without it).
struct LazyEmbedder: TextEmbedder {
    let name: String
    let precision: EmbeddingPrecision
    let embedders: LocalEmbedders
    var modelName: String { name }
    var dimensions: Int { 384 }

    func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        try await embedders.embedder(named: name, precision: precision).embed(texts)
    }
}

/// Native embedding models, loaded once per name and precision on first use.
final class LocalEmbedders: Sendable {
    private struct Key: Hashable {
        let name: String
        let precision: EmbeddingPrecision
    }
    private let factory: (@Sendable (String, EmbeddingPrecision) throws -> any TextEmbedder)?
    private let loaded = Mutex<[Key: any TextEmbedder]>([:])

    init(factory: (@Sendable (String, EmbeddingPrecision) throws -> any TextEmbedder)?) {
        self.factory = factory
    }

    func embedder(named name: String, precision: EmbeddingPrecision) throws -> any TextEmbedder {
        let key = Key(name: name, precision: precision)
        if let embedder = loaded.withLock({ $0[key] }) { return embedder }
        guard let factory else {
            throw SwitchyardError.configuration("No native embedding engine is available in this build.")
        }
        let embedder = try factory(name, precision)
        loaded.withLock { $0[key] = embedder }
        return embedder
    }
}
