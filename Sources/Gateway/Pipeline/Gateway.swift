import AsyncHTTPClient
import Foundation
import Logging
import Providers
import SwitchyardCore
import Synchronization

/// The request pipeline, independent of HTTP: the server, the CLI, workflows and evaluations call it.
public final class Gateway: Sendable {
    public let configuration: SwitchyardConfiguration
    public let requestLog: RequestLog
    let models: [String: ModelSpec]
    let providers: [String: any Provider]
    let keys: [String: SwitchyardConfiguration.APIKey]
    let localEmbedders: LocalEmbedders
    let logger: Logger

    /// The name the native embedding model is served under.
    public static let localEmbeddingModel = "local/all-minilm-l6-v2"

    /// - Parameters:
    ///   - localEmbedderFactory: loads a native embedding model by name; called once, on first use.
    public init(
        configuration: SwitchyardConfiguration, httpClient: HTTPClient, requestLog: RequestLog,
        localEmbedderFactory: (@Sendable (String) throws -> any TextEmbedder)? = nil,
        logger: Logger = Logger(label: "switchyard.gateway")
    ) {
        self.configuration = configuration
        self.requestLog = requestLog
        self.logger = logger
        var providers: [String: any Provider] = [:]
        for provider in configuration.providers {
            providers[provider.name] = ProviderFactory.make(provider, httpClient: httpClient)
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
        self.keys = Dictionary(configuration.keys.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        self.localEmbedders = LocalEmbedders(factory: localEmbedderFactory)
    }

    // MARK: Admission

    /// Checks the key a client presented; with no keys configured everyone is `anonymous`.
    public func authenticate(_ presented: String?) throws -> Caller {
        guard configuration.requiresAuth else { return .anonymous }
        guard let presented, !presented.isEmpty else {
            throw SwitchyardError.authentication(
                "Missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
        }
        guard let key = keys[presented] else {
            throw SwitchyardError.authentication("Invalid API key.")
        }
        return Caller(name: key.name, allowedModels: key.models, allowedTools: key.tools)
    }

    /// Models the caller may use, in configuration order.
    public func availableModels(for caller: Caller = .anonymous) -> [ModelSpec] {
        var ordered = configuration.models
        if let local = models[Self.localEmbeddingModel], !ordered.contains(where: { $0.name == local.name }) {
            ordered.append(local)
        }
        return ordered.filter { GlobPattern.allows(caller.allowedModels, $0.name) }
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

    // MARK: Chat

    /// A non-streamed completion, with usage, cost and the `switchyard` extension filled in.
    public func complete(_ request: ChatRequest, context: CallContext) async throws -> CompletionOutcome {
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name,
            clientProtocol: context.clientProtocol.rawValue, endpoint: "chat", model: request.model)
        do {
            try ChatRequestValidator.validate(request)
            let model = try resolve(request.model, kind: .chat, caller: context.caller)
            try ChatRequestValidator.check(request, fits: model)
            let provider = try provider(for: model)
            record.provider = provider.name
            record.upstreamModel = model.upstream

            var upstream = request
            upstream.model = model.upstream
            upstream.switchyard = nil
            var response = try await provider.complete(upstream, logger: context.logger)

            let usage = response.usage ?? Self.estimateUsage(request: request, response: response)
            response.usage = usage
            let cost = model.price.cost(of: usage)
            response.switchyard = Self.extensionObject(context: context, model: model, provider: provider.name, cost: cost, usage: usage)

            record.fill(usage: usage, cost: cost)
            record.latencyMs = context.elapsedMilliseconds
            requestLog.record(record)
            return CompletionOutcome(response: response, model: model, provider: provider.name, costUSD: cost)
        } catch {
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw error
        }
    }

    /// Starts a stream. Throws for anything that fails before the first byte; the caller then
    /// drives `StreamOutcome.chunks`, feeds each chunk to `accounting`, and calls `finish`.
    public func stream(_ request: ChatRequest, context: CallContext) async throws -> StreamOutcome {
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name,
            clientProtocol: context.clientProtocol.rawValue, endpoint: "chat", model: request.model, stream: true)
        do {
            try ChatRequestValidator.validate(request)
            let model = try resolve(request.model, kind: .chat, caller: context.caller)
            try ChatRequestValidator.check(request, fits: model)
            let provider = try provider(for: model)
            record.provider = provider.name
            record.upstreamModel = model.upstream

            var upstream = request
            upstream.model = model.upstream
            upstream.switchyard = nil
            let chunks = try await provider.stream(upstream, logger: context.logger)
            return StreamOutcome(
                chunks: chunks, model: model, provider: provider.name,
                accounting: StreamAccounting(request: request, model: model, context: context, record: record))
        } catch {
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw error
        }
    }

    /// Closes the books on a stream: final usage and cost, and the request log record.
    @discardableResult
    public func finish(_ accounting: StreamAccounting, error: (any Error)? = nil) -> (usage: Usage, cost: Double) {
        let usage = accounting.finalUsage
        let cost = accounting.model.price.cost(of: usage)
        var record = accounting.record
        record.fill(usage: usage, cost: cost)
        record.latencyMs = accounting.context.elapsedMilliseconds
        record.ttftMs = accounting.timeToFirstTokenMs
        if let error {
            record.error = Self.describe(error)
        }
        requestLog.record(record)
        return (usage, cost)
    }

    // MARK: Embeddings

    public func embed(_ request: EmbeddingRequest, context: CallContext) async throws -> EmbeddingResponse {
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name,
            clientProtocol: context.clientProtocol.rawValue, endpoint: "embeddings", model: request.model)
        do {
            guard !request.input.isEmpty else {
                throw SwitchyardError.invalidRequest("input must not be empty.", param: "input")
            }
            let model = try resolve(request.model, kind: .embedding, caller: context.caller)
            record.provider = model.provider
            record.upstreamModel = model.upstream
            var response: EmbeddingResponse
            if model.provider == "local" {
                let embedder = try localEmbedders.embedder(named: model.upstream)
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
                response = try await provider(for: model).embed(upstream, logger: context.logger)
                response.model = model.name
            }
            let cost = model.price.cost(of: response.usage)
            record.fill(usage: response.usage, cost: cost)
            record.latencyMs = context.elapsedMilliseconds
            requestLog.record(record)
            return response
        } catch {
            record.fail(error, latencyMs: context.elapsedMilliseconds)
            requestLog.record(record)
            throw error
        }
    }

    /// Cost of an embedding response for a model name (for the response header).
    public func cost(of usage: Usage, model name: String) -> Double {
        models[name].map { $0.price.cost(of: usage) } ?? 0
    }

    // MARK: Helpers

    static func estimateUsage(request: ChatRequest, response: ChatResponse) -> Usage {
        let message = response.message
        var completion = TokenEstimator.estimate(message?.text ?? "")
        for call in message?.toolCalls ?? [] {
            completion += TokenEstimator.estimate(call.function.name) + TokenEstimator.estimate(call.function.arguments)
        }
        return Usage(promptTokens: TokenEstimator.estimate(request), completionTokens: completion, estimated: true)
    }

    static func extensionObject(context: CallContext, model: ModelSpec, provider: String, cost: Double, usage: Usage)
        -> JSONValue
    {
        [
            "request_id": .string(context.requestID), "cost_usd": .double(cost), "model": .string(model.name),
            "provider": .string(provider), "usage_estimated": .bool(usage.estimated),
        ]
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? SwitchyardError { return error.message }
        if error is CancellationError { return "cancelled (client went away)" }
        return String(describing: error)
    }
}

/// A finished non-streamed completion.
public struct CompletionOutcome: Sendable {
    public var response: ChatResponse
    public var model: ModelSpec
    public var provider: String
    public var costUSD: Double
}

/// A started stream and its accounting.
public struct StreamOutcome: Sendable {
    public var chunks: ChatChunkStream
    public var model: ModelSpec
    public var provider: String
    public var accounting: StreamAccounting
}

/// Follows a stream as it passes: time to first token, usage, and a fallback estimate.
public struct StreamAccounting: Sendable {
    let request: ChatRequest
    public let model: ModelSpec
    let context: CallContext
    var record: RequestRecord
    var firstTokenAt: ContinuousClock.Instant?
    var completionCharacters = 0
    public private(set) var upstreamUsage: Usage?

    init(request: ChatRequest, model: ModelSpec, context: CallContext, record: RequestRecord) {
        self.request = request
        self.model = model
        self.context = context
        self.record = record
    }

    public mutating func observe(_ chunk: ChatChunk) {
        if let usage = chunk.usage { upstreamUsage = usage }
        for choice in chunk.choices {
            let content = choice.delta.content ?? ""
            var size = content.utf8.count
            for call in choice.delta.toolCalls ?? [] {
                size += (call.function?.name?.utf8.count ?? 0) + (call.function?.arguments?.utf8.count ?? 0)
            }
            if size > 0 {
                if firstTokenAt == nil { firstTokenAt = .now }
                completionCharacters += size
            }
        }
    }

    /// The upstream's usage, or an estimate marked as such.
    public var finalUsage: Usage {
        if let upstreamUsage, upstreamUsage.promptTokens > 0 || upstreamUsage.completionTokens > 0 { return upstreamUsage }
        return Usage(
            promptTokens: TokenEstimator.estimate(request), completionTokens: (completionCharacters + 3) / 4,
            estimated: true)
    }

    var timeToFirstTokenMs: Double? {
        guard let firstTokenAt else { return nil }
        let elapsed = firstTokenAt - context.startedAt
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    /// The `switchyard` extension object for the final chunk or event.
    public func extensionObject(cost: Double, usage: Usage) -> JSONValue {
        Gateway.extensionObject(context: context, model: model, provider: record.provider ?? "", cost: cost, usage: usage)
    }
}

extension RequestRecord {
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

/// Native embedding models, loaded once on first use.
final class LocalEmbedders: Sendable {
    private let factory: (@Sendable (String) throws -> any TextEmbedder)?
    private let loaded = Mutex<[String: any TextEmbedder]>([:])

    init(factory: (@Sendable (String) throws -> any TextEmbedder)?) {
        self.factory = factory
    }

    func embedder(named name: String) throws -> any TextEmbedder {
        if let embedder = loaded.withLock({ $0[name] }) { return embedder }
        guard let factory else {
            throw SwitchyardError.configuration("No native embedding engine is available in this build.")
        }
        let embedder = try factory(name)
        loaded.withLock { $0[name] = embedder }
        return embedder
    }
}
