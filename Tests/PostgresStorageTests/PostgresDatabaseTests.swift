import Foundation
import Logging
import PostgresNIO
import PostgresStorage
import SwitchyardCore
import Testing

@Suite("PostgreSQL connection, URL and migrations", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"))
struct PostgresDatabaseTests {
    @Test func urlsParseAndNeverEchoThePassword() throws {
        let url = try PostgresURL("postgresql://sy%40ops:s3cr%2Ft@db.internal:6543/switchyard?sslmode=require&application_name=gw")
        #expect(url.user == "sy@ops")
        #expect(url.password == "s3cr/t")
        #expect(url.host == "db.internal")
        #expect(url.port == 6543)
        #expect(url.database == "switchyard")
        #expect(url.tls == .require)
        #expect(!url.redacted.contains("s3cr"))
        let v6 = try PostgresURL("postgres://u@[::1]:5433/d")
        #expect(v6.host == "::1" && v6.port == 5433)
        for bad in ["mysql://u@h/d", "postgres://h:5432/d", "postgres://u:pw@h:99999/d", "postgres://u:pw@h:5432/", "postgres://u:topsecret@h/d?sslmode=maybe",
                    "postgres://u:topsecret@h/d?password=x", "postgres://u@h:-1/d", "postgres://u@h:abc/d"] {
            #expect(throws: PostgresURL.Invalid.self) { try PostgresURL(bad) }
            #expect(PostgresURLCheck.problem(bad)?.contains("topsecret") == false)
        }
    }

    @Test func migrationsApplyOnceUnderConcurrentStarts() async throws {
        let url = try await PostgresTestDatabase.create()
        let migrations = ["CREATE TABLE t (id INT PRIMARY KEY)", "ALTER TABLE t ADD COLUMN name TEXT"]
        // Four "replicas" start at once: each migration runs exactly once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let database = PostgresDatabase(url: url, logger: Logger(label: "test"))
                    database.start()
                    defer { Task { await database.shutdown() } }
                    try await BlockingWork.run { try database.migrate(store: "demo", migrations) }
                }
            }
            try await group.waitForAll()
        }
        let database = PostgresDatabase(url: url, logger: Logger(label: "test"))
        database.start()
        let versions = try await database.run { client in
            try await client.query("SELECT version FROM switchyard_migrations WHERE store = 'demo' ORDER BY version").decode(Int.self).all()
        }
        #expect(versions == [1, 2])
        // A third migration later: only it runs.
        try await BlockingWork.run { try database.migrate(store: "demo", migrations + ["ALTER TABLE t ADD COLUMN extra INT"]) }
        let count = try await database.run { client in
            try await client.query("SELECT count(*)::int FROM switchyard_migrations WHERE store = 'demo'").decode(Int.self).all()
        }
        #expect(count == [3])
        await database.shutdown()
    }

    @Test func anUnreachableServerIsReportedWithoutTheURL() async throws {
        let database = PostgresDatabase(url: try PostgresURL("postgres://u:hunter2@127.0.0.1:1/d?sslmode=disable"), logger: Logger(label: "test"))
        database.start()
        #expect(await database.probe(timeout: .seconds(3)) == false)
        #expect(database.currentHealth.reachable == false)
        #expect(database.currentHealth.lastError?.contains("hunter2") == false)
        await database.shutdown()
    }
}
