import Foundation
import Logging
import PostgresNIO
import PostgresStorage
import SwitchyardCore

/// A fresh database for one test, its pool started; `close()` at the end.
struct TestDatabase {
    let url: PostgresURL
    let database: PostgresStorage.PostgresDatabase

    static func make() async throws -> TestDatabase {
        let url = try await PostgresTestDatabase.create()
        return TestDatabase(url: url, database: Self.connect(url))
    }

    /// Another pool on the same database: what a second replica holds.
    static func connect(_ url: PostgresURL) -> PostgresStorage.PostgresDatabase {
        let database = PostgresStorage.PostgresDatabase(url: url, maximumConnections: 4, logger: Logger(label: "test-postgres"))
        database.start()
        return database
    }

    /// Runs `sql` as is (test set-up: constraints, counts).
    func execute(_ sql: String) async throws -> [PostgresRow] {
        try await database.run { client in try await client.query(PostgresQuery(unsafeSQL: sql)).collect() }
    }

    func close() async { await database.shutdown() }
}

/// Store initialisers run migrations and block: off the cooperative threads, as the gateway runs them.
func open<Store: Sendable>(_ make: @escaping @Sendable () throws -> Store) async throws -> Store {
    try await BlockingWork.run(make)
}

// The stores' blocking calls (`count()`, `spend`, the Persistence protocols) wait on a semaphore
// for a task of the cooperative pool: tests make them through `BlockingWork.run`, as the gateway does,
// never on a cooperative thread (two such waits at once can leave no thread to run the work).
