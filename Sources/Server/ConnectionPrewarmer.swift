import Gateway
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Opens the providers' `prewarm_connections` while the server starts (never delaying it: a provider that does
/// not answer costs its requests' connect timeout, not the start), then waits for shutdown, since a service that
/// returned would end the group. With the fast path on, a provider it reaches is prewarmed in the fast path's
/// own pools — the connections its requests use — and every other provider in the full path's.
struct ConnectionPrewarmer: Service {
    let gateway: Gateway
    /// The fast path's pools, when its handler is installed.
    let pools: FastUpstreamPools?
    let group: any EventLoopGroup
    let logger: Logger

    func run() async throws {
        let fast = pools == nil ? [] : gateway.fastPrewarms()
        await gateway.prewarmConnections(logger: logger, except: Set(fast.map(\.provider)))
        if let pools, !fast.isEmpty {
            for (warm, answered, failure) in await pools.prewarm(fast, on: group) {
                let metadata: Logger.Metadata = ["switchyard.provider": .string(warm.provider)]
                if let failure {
                    // The reason names host and port only: keys and headers never reach it.
                    logger.warning(
                        "provider '\(warm.provider)': prewarm_connections opened \(answered) of \(warm.count) fast-path connections (\(failure)); the first requests open the rest",
                        metadata: metadata)
                } else {
                    logger.info("provider '\(warm.provider)': \(answered) fast-path connections opened ahead of traffic", metadata: metadata)
                }
            }
        }
        try? await gracefulShutdown()
    }
}
