import Logging
import Retrieval
import ServiceLifecycle
import SwitchyardCore

/// Keeps the gateway's collections in step with the database, so documents ingested by the CLI
/// (or another replica) are searchable without a restart.
public struct CollectionSyncService: Service {
    let collections: CollectionService
    let interval: Duration
    let logger: Logger

    public init(collections: CollectionService, interval: Duration, logger: Logger = Logger(label: "switchyard.retrieval")) {
        self.collections = collections
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await runPeriodically(every: interval, finally: false) {
            do {
                let collections = self.collections
                let changed = try await BlockingWork.run { try collections.refresh() }
                if !changed.isEmpty { logger.info("collections reloaded from the database", metadata: ["switchyard.collections": "\(changed)"]) }
            } catch {
                logger.warning("collection sync failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
