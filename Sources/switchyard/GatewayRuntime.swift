import ArgumentParser
import Embeddings
import Foundation
import Gateway
import Logging
import NIOCore
import Governance
import PostgresStorage
import Storage
import SwitchyardCore

/// Builds the long-lived parts (HTTP client, store, gateway) from a configuration.
struct GatewayRuntime {
    let gateway: Gateway
    let clients: UpstreamClients
    /// With `storage.postgres`: the shared database and what keeps this replica in step with the others.
    let postgres: PostgresRuntime?

    init(configuration: SwitchyardConfiguration, logger: Logger) throws {
        // Everything that can fail before the HTTP client exists, so a failure leaves nothing to shut down.
        // `storage.postgres`: every store in the shared database (replicas); else the embedded SQLite file.
        let postgres = try configuration.storage.postgresURL.map { try PostgresRuntime(url: $0, logger: logger) }
        self.postgres = postgres
        let store: any RequestLogPersistence = try postgres?.requestLog ?? RequestLogStore(path: configuration.storage.sqlitePath)
        var cachePersistence: (any CachePersistence)?
        if configuration.cache.isEnabled, configuration.cache.persistent {
            cachePersistence = try postgres?.cache ?? ResponseCacheStore(path: configuration.storage.sqlitePath)
        }
        // A replica's answered-but-unstored log lines, adopted by another replica if it dies (see RequestLogSpool).
        let spool = try postgres.map { _ in try RequestLogSpool(directory: URL(fileURLWithPath: configuration.storage.spoolDirectory), logger: logger) }
        // Collections: rows in the same SQLite file, HNSW files in `<db>.collections/` beside it.
        let retrievalStore: any RetrievalPersistence = try postgres?.retrieval ?? RetrievalStore(path: configuration.storage.sqlitePath)
        // Keys, teams and the audit chain: the same file (spend is read from the request log); or PostgreSQL.
        let governanceStore: any GovernancePersistence = try postgres?.governance ?? GovernanceStore(path: configuration.storage.sqlitePath)
        let responseStore: any ResponsePersistence = try postgres?.responses ?? ResponseStore(path: configuration.storage.sqlitePath)
        let batchStore: any BatchPersistence = try postgres?.batches ?? BatchStore(path: configuration.storage.sqlitePath)
        // Uploaded eval reports (`eval run --publish`, `eval publish`): the same file.
        let evalReportStore: any EvalReportPersistence = try postgres?.evalReports ?? EvalReportStore(path: configuration.storage.sqlitePath)
        // Workflow runs and their step checkpoints: the same file, so a run outlives a crash of the gateway.
        let workflowStore: any WorkflowCheckpointStore = try postgres?.workflows ?? WorkflowRunStore(path: configuration.storage.sqlitePath)
        // HNSW files beside a SQLite file; replicas build theirs from the database and follow its change feed.
        let indexDirectory = configuration.storage.sqlitePath == ":memory:" || postgres != nil
            ? nil : URL(fileURLWithPath: configuration.storage.sqlitePath + ".collections")
        let localModel = MiniLMEmbedder.Loader(directory: configuration.localModelDirectory.map { URL(fileURLWithPath: $0) })
        let clients = Gateway.makeUpstreamClients()
        self.clients = clients
        self.gateway = Gateway(
            configuration: configuration, upstreamClients: clients,
            requestLog: RequestLog(store: store, spool: spool, logger: logger),
            localEmbedderFactory: { _, precision in try localModel.embedder(precision: precision) },
            cachePersistence: cachePersistence, retrievalPersistence: retrievalStore, indexDirectory: indexDirectory,
            governancePersistence: governanceStore, responsePersistence: responseStore,
            batchPersistence: batchStore, guardDetector: try GuardDetectors.standard(for: configuration, model: localModel),
            workflowPersistence: workflowStore, evalReportPersistence: evalReportStore, logger: logger)
        do {
            try gateway.restoreGovernance()
            try postgres?.attach(to: gateway, logger: logger)
            try gateway.cache?.restore()
            try gateway.collections.load()
        } catch {
            // Not syncShutdown: this may run on an event loop (the gateway runs Swift Concurrency on NIO's).
            clients.shutdownWithoutWaiting()
            if let postgres { Task { await postgres.shutdown() } }
            throw error
        }
    }

    func shutdown() async {
        await gateway.requestLog.flush()
        try? gateway.collections.saveIndexes()
        await clients.shutdown()
        await postgres?.shutdown()
    }
}

/// Finds the configuration a command means: `--config`, else `./switchyard.yaml`, else the one the
/// running gateway serves (see `RunningGateways`; the demo's lives in its state folder).
enum ConfigurationFinder {
    static let noConfiguration =
        "No configuration: give --config FILE, put a switchyard.yaml in this folder, or start a gateway (`switchyard serve`) for the other commands to find."

    /// The SQLite file a read-only command (logs, explain) should open: `--db`, or the configuration's.
    static func databasePath(db: String?, config: String?) throws -> String {
        if let db { return db }
        if let configuration = try load(config) { return configuration.storage.sqlitePath }
        throw CommandFailure(noConfiguration, .configuration)
    }

    /// - Parameter discover: fall back to the running gateway's configuration (`serve` does not).
    static func load(_ path: String?, discover: Bool = true) throws -> SwitchyardConfiguration? {
        if let path { return try ConfigurationLoader.load(path: path) }
        for candidate in ["switchyard.yaml", "switchyard.yml"] where FileManager.default.fileExists(atPath: candidate) {
            return try ConfigurationLoader.load(path: candidate)
        }
        guard discover, let running = RunningGateways.current() else { return nil }
        var configuration = try ConfigurationLoader.load(path: running.config)
        configuration.storage.sqlitePath = running.database  // as the gateway resolved it, whatever this folder is
        return configuration
    }

    /// The running gateway a command without `--config`/`--db` talks to, when there is one and no
    /// local configuration overrides it.
    static func runningGateway(config: String?, db: String?) -> GatewayRecord? {
        guard config == nil, db == nil else { return nil }
        for candidate in ["switchyard.yaml", "switchyard.yml"] where FileManager.default.fileExists(atPath: candidate) {
            // A local config: its gateway, if it runs (matched by database), else none.
            guard let local = try? ConfigurationLoader.load(path: candidate) else { return nil }
            let database = URL(fileURLWithPath: local.storage.sqlitePath).standardizedFileURL.path
            return RunningGateways.all().first { $0.database == database }
        }
        return RunningGateways.current()
    }
}
