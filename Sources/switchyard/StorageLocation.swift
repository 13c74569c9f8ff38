import Foundation
import Logging
import PostgresStorage
import Storage
import SwitchyardCore

/// Where a read-only command (logs, explain, route train) reads a configuration's stores: its SQLite
/// file (`--db`, or `storage.sqlite`), or with `storage.postgres` the PostgreSQL database its
/// replicas share.
enum StorageLocation {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// `--db`, else the configuration's storage (see `ConfigurationFinder.load`).
    static func find(db: String?, config: String?) throws -> StorageLocation {
        if let db { return .sqlite(path: db) }
        guard let configuration = try ConfigurationFinder.load(config) else { throw CommandFailure(ConfigurationFinder.noConfiguration, .configuration) }
        guard let text = configuration.storage.postgresURL else { return .sqlite(path: configuration.storage.sqlitePath) }
        do {
            return .postgres(try PostgresURL(text))
        } catch {
            throw CommandFailure("storage.postgres: the PostgreSQL URL \(error)", .configuration)
        }
    }

    /// The file's path or the database's URL without its password, for messages.
    var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url): return url.redacted
        }
    }

    /// Runs `body` with the request log. A SQLite file must exist (`:memory:` is an empty log);
    /// a PostgreSQL pool is opened for the call and closed after it.
    func withRequestLog<T>(_ body: (any RequestLogPersistence) async throws -> T) async throws -> T {
        switch self {
        case .sqlite(let path):
            guard path == ":memory:" || FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("No request log at '\(path)' yet: it is created when the gateway serves its first request.", .notFound)
            }
            return try await body(try await BlockingWork.run { try RequestLogStore(path: path) })
        case .postgres(let url):
            return try await Self.withDatabase(url) { database in
                try await body(try await BlockingWork.run { try PostgresRequestLogStore(database: database) })
            }
        }
    }

    /// Runs `body` with the workflow runs and their steps (same rules as `withRequestLog`).
    func withWorkflowRuns<T>(_ body: (any WorkflowCheckpointStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite(let path):
            guard path != ":memory:", FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("No database at '\(path)' yet: it is created when the gateway first starts.", .notFound)
            }
            return try await body(try await BlockingWork.run { try WorkflowRunStore(path: path) })
        case .postgres(let url):
            return try await Self.withDatabase(url) { database in
                // Reads only: the replica id is never written.
                try await body(try await BlockingWork.run { try PostgresWorkflowRunStore(database: database, replicaID: "switchyard-cli") })
            }
        }
    }

    /// A small pool on `url` for one command; a database that cannot be reached is named (never its password).
    private static func withDatabase<T>(_ url: PostgresURL, _ body: (PostgresDatabase) async throws -> T) async throws -> T {
        var logger = Logger(label: "switchyard")
        logger.logLevel = .warning
        let database = PostgresDatabase(url: url, maximumConnections: 2, logger: logger)
        database.start()
        do {
            let value = try await body(database)
            await database.shutdown()
            return value
        } catch let failure as StorageFailure {
            await database.shutdown()
            throw CommandFailure("Cannot read the PostgreSQL database at \(url.redacted): \(failure)", .unavailable)
        } catch {
            await database.shutdown()
            throw error
        }
    }
}
