import ArgumentParser
import Foundation
import Logging
import PostgresStorage
import SwitchyardCore

/// `switchyard migrate --from sqlite:PATH --to postgres://…`: copies an embedded deployment into a
/// PostgreSQL database, so replicas can start on it (see `SQLiteMigration` for what is copied).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy a SQLite deployment (keys, audit log, request log, collections, …) into PostgreSQL.",
        discussion: """
            Stop the gateway first: requests it serves during the copy may be missed. Into a database that already \
            holds keys or logged requests nothing is copied unless --force is given; then only what is missing is \
            added, and rows already there are kept as they are (running it twice copies nothing twice).
            """)

    @Option(help: "The SQLite file `switchyard serve` wrote (storage.sqlite): sqlite:PATH, or the path.")
    var from: String

    @Option(help: "The PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (or ${VARIABLE} naming it).")
    var to: String

    @Flag(help: "Copy into a database that already holds keys or logged requests, adding only what it lacks.")
    var force = false

    /// `sqlite:PATH`, `sqlite://PATH` or a bare path.
    static func sqlitePath(_ text: String) -> String {
        for prefix in ["sqlite://", "sqlite:"] where text.hasPrefix(prefix) { return String(text.dropFirst(prefix.count)) }
        return text
    }

    /// The URL, `${NAME}` (quoted against the shell) read from the environment; errors never show a password.
    static func targetURL(_ text: String) throws -> PostgresURL {
        var text = text
        if text.hasPrefix("${"), text.hasSuffix("}") {
            let name = String(text.dropFirst(2).dropLast())
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw CommandFailure("--to: the environment variable \(name) is not set.", .configuration)
            }
            text = value
        }
        do {
            return try PostgresURL(text)
        } catch {
            throw CommandFailure("--to: the PostgreSQL URL \(error)", .configuration)
        }
    }

    func run() async throws {
        let path = Self.sqlitePath(from)
        let url = try Self.targetURL(to)
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.path
        if RunningGateways.all().contains(where: { $0.database == resolved }) {
            FileHandle.standardError.write(Data("Warning: a gateway still serves \(path); requests it serves during the copy may be missed.\n".utf8))
        }
        var logger = Logger(label: "switchyard.migrate")
        logger.logLevel = .warning
        let database = PostgresDatabase(url: url, maximumConnections: 4, logger: logger)
        database.start()
        print("migrating \(path) -> \(url.redacted)")
        let migration = SQLiteMigration(sourcePath: path, target: database, force: force, progress: { print($0) })
        let summary: SQLiteMigration.Summary
        do {
            summary = try await migration.run()
        } catch let failure as SQLiteMigration.Failure {
            await database.shutdown()
            switch failure.kind {
            case .sourceMissing: throw CommandFailure(failure.message, .notFound)
            case .targetNotEmpty: throw CommandFailure(failure.message, .configuration)
            case .auditConflict, .verification: throw CommandFailure(failure.message, .dataError)
            }
        } catch {
            await database.shutdown()
            throw CommandFailure("Migrating into \(url.redacted) failed: \(error)", .unavailable)
        }
        await database.shutdown()
        print(summary.copied)
        print(summary.added == 0
            ? "nothing new: \(url.redacted) held every row already"
            : "\(SQLiteMigration.Summary.number(summary.added)) rows added to \(url.redacted); start the replicas with storage: {postgres: …}")
    }
}
