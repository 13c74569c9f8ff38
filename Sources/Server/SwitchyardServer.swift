import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SwitchyardCore

/// The HTTP face of Switchyard: builds the Hummingbird application over a `Gateway`.
public enum SwitchyardServer {
    /// The router with every route, for in-process tests and for `makeApplication`.
    public static func makeRouter(gateway: Gateway, logger: Logger) -> Router<BasicRequestContext> {
        let limit = gateway.configuration.server.maxBodyBytes
        let chat = ChatCompletionsRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let messages = MessagesRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let embeddings = EmbeddingsRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)
        let info = InfoRoutes(gateway: gateway)
        let mcp = MCPRoute(gateway: gateway, maxBodyBytes: limit, logger: logger)

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: UnknownRouteMiddleware())
        router.post("/v1/chat/completions") { request, _ in await chat.handle(request) }
        router.post("/chat/completions") { request, _ in await chat.handle(request) }
        router.post("/v1/messages") { request, _ in await messages.handle(request) }
        router.post("/v1/embeddings") { request, _ in await embeddings.handle(request) }
        router.post("/embeddings") { request, _ in await embeddings.handle(request) }
        router.get("/v1/models") { request, _ in await info.models(request) }
        router.get("/models") { request, _ in await info.models(request) }
        router.get("/health") { request, _ in await info.health(request) }
        router.get("/v1/switchyard/requests") { request, _ in await info.requests(request) }
        router.get("/v1/switchyard/requests/{id}") { request, context in
            await info.request(request, id: context.parameters.get("id") ?? "")
        }
        router.get("/v1/switchyard/cache/stats") { request, _ in await info.cacheStats(request) }
        router.delete("/v1/switchyard/cache") { request, _ in await info.clearCache(request) }
        CollectionsRoutes(gateway: gateway, maxBodyBytes: limit).register(on: router)
        router.post("/mcp") { request, _ in await mcp.handle(request) }
        router.get("/mcp") { request, _ in mcp.methodNotAllowed(request) }
        router.delete("/mcp") { request, _ in mcp.methodNotAllowed(request) }
        return router
    }

    /// The application, with the request log flusher as a service beside the HTTP server.
    public static func makeApplication(
        gateway: Gateway, host: String? = nil, port: Int? = nil, services: [any Service] = [],
        logger: Logger = Logger(label: "switchyard"),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = makeRouter(gateway: gateway, logger: logger)
        let configuration = ApplicationConfiguration(
            address: .hostname(host ?? gateway.configuration.server.host, port: port ?? gateway.configuration.server.port),
            serverName: "switchyard")
        return Application(
            router: router, configuration: configuration,
            services: gateway.backgroundServices + services,
            onServerRunning: onServerRunning, logger: logger)
    }
}
