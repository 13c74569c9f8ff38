import Foundation
import Gateway
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardCore

/// The HTTP face of Switchyard: builds the Hummingbird application over a `Gateway`.
public enum SwitchyardServer {
    /// The router with every route, for in-process tests and for `makeApplication`.
    /// - Parameter tracing: a server span per request (W3C `traceparent` honoured) through the bootstrapped tracer.
    public static func makeRouter(gateway: Gateway, logger: Logger, tracing: Bool = false) -> Router<SwitchyardRequestContext> {
        let limit = gateway.configuration.server.maxBodyBytes
        let chat = ChatCompletionsRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let messages = MessagesRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let responses = ResponsesRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let embeddings = EmbeddingsRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let info = InfoRoutes(gateway: gateway)
        let mcp = MCPRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)

        let router = Router(context: SwitchyardRequestContext.self)
        if tracing { router.add(middleware: ServerTracingMiddleware()) }
        router.add(middleware: UnknownRouteMiddleware())
        // Who is calling and whether it may: once, for every route (see `EndpointPolicy`).
        router.add(middleware: AuthorizationMiddleware(gateway: gateway))
        router.post("/v1/chat/completions") { request, context in await chat.handle(request, caller: context.caller) }
        router.post("/chat/completions") { request, context in await chat.handle(request, caller: context.caller) }
        router.post("/v1/messages") { request, context in await messages.handle(request, caller: context.caller) }
        router.post("/v1/embeddings") { request, context in await embeddings.handle(request, caller: context.caller) }
        router.post("/embeddings") { request, context in await embeddings.handle(request, caller: context.caller) }
        router.get("/v1/models") { request, context in await info.models(request, caller: context.caller) }
        router.get("/models") { request, context in await info.models(request, caller: context.caller) }
        router.get("/health") { request, _ in await info.health(request) }
        router.get("/ready") { request, _ in await info.ready(request) }
        router.get("/metrics") { _, _ in
            guard gateway.configuration.observability.metrics else {
                return ErrorResponses.response(
                    SwitchyardError(code: .notFound, message: "Metrics are off (observability.metrics: false).", status: 404, param: "path"),
                    protocol: .openai, requestID: CallContext.newRequestID())
            }
            // Prometheus' text exposition format, version 0.0.4.
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: await gateway.metricsExposition())))
        }
        // The Responses API, with and without /v1.
        for prefix in ["/v1", ""] {
            router.post("\(prefix)/responses") { request, context in await responses.create(request, caller: context.caller) }
            router.get("\(prefix)/responses/{id}") { request, context in
                await responses.retrieve(context.parameters.get("id") ?? "", caller: context.caller)
            }
            router.delete("\(prefix)/responses/{id}") { request, context in
                await responses.delete(context.parameters.get("id") ?? "", caller: context.caller)
            }
            router.get("\(prefix)/responses/{id}/input_items") { request, context in
                await responses.inputItems(context.parameters.get("id") ?? "", request: request, caller: context.caller)
            }
        }
        router.get("/v1/switchyard/requests") { request, context in await info.requests(request, caller: context.caller) }
        router.get("/v1/switchyard/requests/{id}") { request, context in
            await info.request(request, id: context.parameters.get("id") ?? "", caller: context.caller)
        }
        router.get("/v1/switchyard/cache/stats") { request, context in await info.cacheStats(request, caller: context.caller) }
        router.delete("/v1/switchyard/cache") { request, context in await info.clearCache(request, caller: context.caller) }
        CollectionsRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        GovernanceRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        FeedbackRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        // --- Batches (issue 19): OpenAI Files + Batch API, Anthropic Message Batches. ---
        FilesRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        BatchesRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        MessageBatchesRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        // --- end batches ---
        WorkflowsRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        DashboardRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        EvalReportsRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        DashboardPage().register(on: router)
        router.post("/mcp") { request, context in await mcp.handle(request, caller: context.caller) }
        router.get("/mcp") { request, _ in mcp.methodNotAllowed(request) }
        router.delete("/mcp") { request, _ in mcp.methodNotAllowed(request) }
        registerCompatibilityRoutes(on: router, gateway: gateway, logger: logger)
        return router
    }

    /// The rest of the surface clients call (issue 19): every model-serving endpoint with and without
    /// the `/v1` prefix (base URLs are configured both ways in the wild), `GET /v1/models/{id}` (ids
    /// may hold `/`), legacy text completions and Anthropic's token counting. Each path has its
    /// `.useModels` rule in `EndpointPolicy.compatibilityRules`.
    static func registerCompatibilityRoutes(on router: Router<SwitchyardRequestContext>, gateway: Gateway, logger: Logger) {
        let limit = gateway.configuration.server.maxBodyBytes
        let messages = MessagesRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let completions = CompletionsRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let countTokens = CountTokensRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let info = InfoRoutes(gateway: gateway)
        router.post("/messages") { request, context in await messages.handle(request, caller: context.caller) }
        for prefix in ["/v1", ""] {
            router.post("\(prefix)/completions") { request, context in await completions.handle(request, caller: context.caller) }
            router.post("\(prefix)/messages/count_tokens") { request, context in await countTokens.handle(request, caller: context.caller) }
            router.get("\(prefix)/models/**") { request, context in
                await info.model(request, id: context.parameters.getCatchAll().joined(separator: "/"), caller: context.caller)
            }
        }
    }

    /// The application, with the request log flusher as a service beside the HTTP server.
    public static func makeApplication(
        gateway: Gateway, host: String? = nil, port: Int? = nil, services: [any Service] = [],
        logger: Logger = Logger(label: "switchyard"), tracing: Bool = false,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = makeRouter(gateway: gateway, logger: logger, tracing: tracing)
        let configuration = ApplicationConfiguration(
            address: .hostname(host ?? gateway.configuration.server.host, port: port ?? gateway.configuration.server.port),
            serverName: "switchyard", backlog: gateway.configuration.server.backlog)
        // The fast path sits between the HTTP codec and the router (see `FastPathHandler`). With tracing on, every
        // request takes the full pipeline, which makes the spans.
        let server: HTTPServerBuilder
        var pools: FastUpstreamPools?
        if gateway.fastPathConfigured, !tracing {
            let fastPools = FastUpstreamPools()
            pools = fastPools
            let limit = gateway.configuration.server.maxBodyBytes
            server = .http1(configuration: .init(additionalChannelHandlers: [FastPathHandler(gateway: gateway, pools: fastPools, maxBodyBytes: limit)]))
        } else {
            server = .http1()
        }
        // The application's loops (Hummingbird's default group): the fast path's pools are theirs.
        let group = MultiThreadedEventLoopGroup.singleton
        let prewarmer: [any Service] = gateway.configuration.providers.contains { $0.prewarmConnections > 0 }
            ? [ConnectionPrewarmer(gateway: gateway, pools: pools, group: group, logger: logger)] : []
        return Application(
            router: router, server: server, configuration: configuration,
            services: gateway.backgroundServices + [batchRunner(gateway: gateway, logger: logger)] + prewarmer + services,
            onServerRunning: onServerRunning, eventLoopGroupProvider: .shared(group), logger: logger)
    }

    /// The service that executes batches (`/v1/batches`, `/v1/messages/batches`) through the pipeline.
    public static func batchRunner(gateway: Gateway, logger: Logger) -> BatchRunner {
        BatchRunner(gateway: gateway, executor: BatchLineExecution(gateway: gateway, logger: logger), logger: logger)
    }
}
