import Gateway
import Logging
import ServiceLifecycle

/// Opens the providers' `prewarm_connections` while the server starts (never delaying it: a provider that does
/// not answer costs its requests' connect timeout, not the start), then waits for shutdown, since a service that
/// returned would end the group.
struct ConnectionPrewarmer: Service {
    let gateway: Gateway
    let logger: Logger

    func run() async throws {
        await gateway.prewarmConnections(logger: logger)
        try? await gracefulShutdown()
    }
}
