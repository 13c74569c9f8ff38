import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// For tests: a fresh, empty database on the server `SWITCHYARD_TEST_POSTGRES` names (started by
/// `tests/postgres/start.sh`), so tests never see each other's rows.
public enum PostgresTestDatabase {
    /// The server's URL, or nil when no test server runs (the tests that need it are then disabled).
    public static var serverURL: String? { ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Creates `sy_<random>` and returns its URL.
    public static func create(prefix: String = "sy") async throws -> PostgresURL {
        guard let server = serverURL else { throw StorageFailure(message: "SWITCHYARD_TEST_POSTGRES is not set (run tests/postgres/start.sh)") }
        let base = try PostgresURL(server)
        let name = "\(prefix)_\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
        let admin = PostgresDatabase(url: base, maximumConnections: 2, logger: Logger(label: "test-postgres"))
        admin.start()
        do {
            _ = try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")).collect()
        } catch {
            await admin.shutdown()
            throw StorageFailure(error)
        }
        await admin.shutdown()
        var url = base
        url.database = name
        return url
    }
}
