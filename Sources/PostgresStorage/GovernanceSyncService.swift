import Foundation
import Governance
import Logging
import PostgresNIO
import ServiceLifecycle
import SwitchyardCore

/// Brings keys and teams changed by other replicas into this one's Governor: `LISTEN` on
/// `switchyard_governance` applies a change as soon as its transaction commits (a revoked key is
/// refused everywhere within a second), and a full resync every `resync` catches anything a lost
/// connection missed. The listening connection is one of the pool's, held for as long as it lives;
/// when it drops, the service resyncs and listens again.
public struct GovernanceSyncService: Service {
    let store: PostgresGovernanceStore
    let governor: Governor
    let resync: Duration
    let logger: Logger

    public init(store: PostgresGovernanceStore, governor: Governor, resync: Duration = .seconds(30), logger: Logger) {
        self.store = store
        self.governor = governor
        self.resync = resync
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen() }
            group.addTask { await periodicResync() }
            await group.next()
            group.cancelAll()
        }
    }

    private func listen() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await store.database.client.withConnection { connection in
                    try await connection.listen(on: PostgresGovernanceStore.channel) { notifications in
                        // Listening now: anything changed before this point is picked up by a full pass.
                        await fullResync()
                        for try await notification in notifications.cancelOnGracefulShutdown() {
                            await apply(notification.payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("governance change listener lost its connection; listening again", metadata: ["error": "\(StorageFailure(error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func periodicResync() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: resync)
            await fullResync()
        }
    }

    func apply(_ payload: String) async {
        do {
            if payload.hasPrefix("key:") {
                let id = String(payload.dropFirst(4))
                if let key = try await BlockingWork.run({ try store.key(id: id) }) { governor.applyStored(key: key) }
            } else if payload.hasPrefix("team:") {
                let name = String(payload.dropFirst(5))
                if let team = try await BlockingWork.run({ try store.team(named: name) }) { governor.applyStored(team: team) }
            }
        } catch {
            logger.warning("could not read a changed key or team; the next resync will", metadata: ["error": "\(error)"])
        }
    }

    func fullResync() async {
        do {
            let (keys, teams) = try await BlockingWork.run { (try store.loadKeys(), try store.loadTeams()) }
            governor.resync(keys: keys, teams: teams)
        } catch {
            logger.warning("governance resync failed", metadata: ["error": "\(error)"])
        }
    }
}
