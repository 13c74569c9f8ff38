import ArgumentParser
import Embeddings
import Foundation
import Gateway
import Logging
import NIOCore
import Storage
import SwitchyardCore

/// Builds the long-lived parts (HTTP client, store, gateway) from a configuration.
struct GatewayRuntime {
    let gateway: Gateway
    let clients: UpstreamClients

    init(configuration: SwitchyardConfiguration, logger: Logger) throws {
        // Everything that can fail before the HTTP client exists, so a failure leaves nothing to shut down.
        let store = try RequestLogStore(path: configuration.storage.sqlitePath)
        var cachePersistence: ResponseCacheStore?
        if configuration.cache.isEnabled, configuration.cache.persistent {
            cachePersistence = try ResponseCacheStore(path: configuration.storage.sqlitePath)
        }
        // Collections: rows in the same SQLite file, HNSW files in `<db>.collections/` beside it.
        let retrievalStore = try RetrievalStore(path: configuration.storage.sqlitePath)
        let indexDirectory = configuration.storage.sqlitePath == ":memory:"
            ? nil : URL(fileURLWithPath: configuration.storage.sqlitePath + ".collections")
        let localModel = MiniLMEmbedder.Loader(directory: configuration.localModelDirectory.map { URL(fileURLWithPath: $0) })
        let clients = Gateway.makeUpstreamClients()
        self.clients = clients
        self.gateway = Gateway(
            configuration: configuration, upstreamClients: clients,
            requestLog: RequestLog(store: store, logger: logger),
            localEmbedderFactory: { _, precision in try localModel.embedder(precision: precision) },
            cachePersistence: cachePersistence, retrievalPersistence: retrievalStore, indexDirectory: indexDirectory, logger: logger)
        do {
            try gateway.cache?.restore()
            try gateway.collections.load()
        } catch {
            // Not syncShutdown: this may run on an event loop (the gateway runs Swift Concurrency on NIO's).
            clients.shutdownWithoutWaiting()
            throw error
        }
    }

    func shutdown() async {
        await gateway.requestLog.flush()
        try? gateway.collections.saveIndexes()
        await clients.shutdown()
    }
}

/// Loads the configuration a command names, or the one in the working directory.
enum ConfigurationFinder {
    /// The SQLite file a read-only command (logs, explain) should open: `--db`, or the config's.
    static func databasePath(db: String?, config: String?) throws -> String {
        if let db { return db }
        if let configuration = try load(config) { return configuration.storage.sqlitePath }
        throw ValidationError("Give --config FILE or --db PATH (no switchyard.yaml in this folder).")
    }

    static func load(_ path: String?) throws -> SwitchyardConfiguration? {
        if let path { return try ConfigurationLoader.load(path: path) }
        for candidate in ["switchyard.yaml", "switchyard.yml"] where FileManager.default.fileExists(atPath: candidate) {
            return try ConfigurationLoader.load(path: candidate)
        }
        return nil
    }
}
