import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SwitchyardCore
import Synchronization

/// One PostgreSQL database shared by every replica: a postgres-nio connection pool on event-loop
/// threads of its own, versioned migrations applied under an advisory lock, and a bridge for the
/// persistence protocols, whose calls block (they run on `BlockingWork`'s threads, never on the
/// loops that serve requests).
///
/// The pool gets its own two loops on purpose: Swift concurrency runs on NIO's singleton loops in
/// this process, and a blocking store call made from one of them must never wait for a reply that
/// the same loop would have to read.
public final class PostgresDatabase: Sendable {
    public let url: PostgresURL
    public let client: PostgresClient
    public let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let runner: Mutex<Task<Void, Never>?>
    /// Set by `markUnreachable` / `markReachable` from the stores and the health probe.
    private let health = Mutex(Health())

    public struct Health: Sendable {
        public var reachable = true
        public var lastError: String?
        public var lastChange = Date()
    }

    /// Connects lazily: the pool opens connections on first use. Call `start()` (or run `client` as
    /// a service) before the first query, `shutdown()` at the end.
    public init(url: PostgresURL, maximumConnections: Int = 20, logger: Logger) {
        self.url = url
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var configuration: PostgresClient.Configuration
        if url.host.hasPrefix("/") {
            configuration = .init(unixSocketPath: url.host + "/.s.PGSQL.\(url.port)", username: url.user, password: url.password, database: url.database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch url.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(.makeClientConfiguration())
            case .require: tls = .require(.makeClientConfiguration())
            }
            configuration = .init(host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
        }
        configuration.options.maximumConnections = max(2, maximumConnections)
        configuration.options.minimumConnections = 1
        configuration.options.connectTimeout = .seconds(5)
        if let name = url.applicationName { configuration.options.additionalStartupParameters = [("application_name", name)] }
        // The pool logs every failed connection attempt at info: our own health line says it once.
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        client = PostgresClient(configuration: configuration, eventLoopGroup: group, backgroundLogger: background)
        runner = Mutex(nil)
    }

    /// Runs the pool in a task of its own (for commands and tests; `serve` runs it the same way).
    public func start() {
        runner.withLock { task in
            guard task == nil else { return }
            let client = client
            task = Task(executorPreference: PostgresTaskExecutor.shared) { await client.run() }
        }
    }

    public func shutdown() async {
        let task = runner.withLock { task -> Task<Void, Never>? in defer { task = nil }; return task }
        task?.cancel()
        await task?.value
        try? await group.shutdownGracefully()
    }

    // MARK: Health

    public var currentHealth: Health { health.withLock { $0 } }

    func markReachable() {
        health.withLock { if !$0.reachable { $0.reachable = true; $0.lastError = nil; $0.lastChange = Date() } }
    }

    func markUnreachable(_ error: any Error) {
        let message = Self.describe(error)
        let changed = health.withLock { state -> Bool in
            state.lastError = message
            guard state.reachable else { return false }
            state.reachable = false
            state.lastChange = Date()
            return true
        }
        if changed { logger.error("PostgreSQL unreachable", metadata: ["database": "\(url.redacted)", "error": "\(message)"]) }
    }

    /// Whether the database answers now (one `SELECT 1`, with a deadline).
    public func probe(timeout: Duration = .seconds(2)) async -> Bool {
        do {
            try await withDeadline(timeout) { [client] in
                _ = try await client.query("SELECT 1").collect()
            }
            markReachable()
            return true
        } catch {
            markUnreachable(error)
            return false
        }
    }

    /// What an error says, without the query's binds or the URL.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return describe(inner) }
            return "transaction failed"
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "server: " + message }
            return "\(error.code)"
        }
        if error is DeadlineExceeded { return "no answer within the deadline" }
        return String(describing: type(of: error))
    }

    // MARK: Calls

    /// Runs `body` against the pool and waits for it: for the blocking persistence protocols. Never
    /// call it on an event loop of the request path.
    public func blocking<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) throws -> T {
        let box = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let client = client
        // On an executor of its own: the caller may be a thread of the global executor (at start-up
        // the gateway is built on one), and a task queued behind it would wait for it forever.
        Task(executorPreference: PostgresTaskExecutor.shared) {
            let result: Result<T, any Error>
            do { result = .success(try await body(client)) } catch { result = .failure(error) }
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        let result = box.withLock { $0! }
        switch result {
        case .success(let value):
            markReachable()
            return value
        case .failure(let error):
            if Self.isConnectionError(error) { markUnreachable(error) }
            throw StorageFailure(error)
        }
    }

    /// Async form of the same, for stores with async protocols.
    public func run<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        do {
            let value = try await body(client)
            markReachable()
            return value
        } catch {
            if Self.isConnectionError(error) { markUnreachable(error) }
            throw StorageFailure(error)
        }
    }

    static func isConnectionError(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.beginError ?? error.commitError).map(isConnectionError) ?? false
        }
        guard let error = error as? PSQLError else { return !(error is StorageFailure || error is CancellationError) }
        switch error.code {
        case .server, .sslUnsupported, .tooManyParameters: return false
        default: return true
        }
    }

    // MARK: Migrations

    /// Applies a store's migrations that this database has not seen, in order, each in a
    /// transaction, under an advisory lock so replicas starting together apply each one once.
    /// `store` names the sequence (`governance`, `log`, …); a migration's number is its index + 1.
    public func migrate(store: String, _ migrations: [String]) throws {
        try blocking { client in
            try await client.withConnection { connection in
                // Session-level lock on one connection: held across the transactions below.
                _ = try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: self.logger).collect()
                do {
                    _ = try await connection.query(
                        """
                        CREATE TABLE IF NOT EXISTS switchyard_migrations (
                            store TEXT NOT NULL, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                            PRIMARY KEY (store, version))
                        """, logger: self.logger
                    ).collect()
                    var applied = 0
                    for try await version in try await connection.query(
                        "SELECT coalesce(max(version), 0) FROM switchyard_migrations WHERE store = \(store)", logger: self.logger
                    ).decode(Int.self) { applied = version }
                    for (index, sql) in migrations.enumerated() where index + 1 > applied {
                        let version = index + 1
                        try await connection.withTransaction(logger: self.logger) { connection in
                            // The extended protocol takes one statement per query.
                            for statement in Self.statements(sql) {
                                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger).collect()
                            }
                            _ = try await connection.query(
                                "INSERT INTO switchyard_migrations (store, version) VALUES (\(store), \(version))", logger: self.logger
                            ).collect()
                        }
                        self.logger.info("PostgreSQL migration applied", metadata: ["store": "\(store)", "version": "\(version)"])
                    }
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: self.logger).collect()
                    throw error
                }
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: self.logger).collect()
            }
        }
    }

    /// A migration's statements: split at `;` outside quotes, `$$` bodies and comments.
    static func statements(_ sql: String) -> [String] {
        var result: [String] = []
        var current = ""
        var inQuote = false, inDollar = false, inComment = false
        var previous: Character = " "
        for character in sql {
            current.append(character)
            if inComment {
                if character == "\n" { inComment = false }
            } else if inDollar {
                if character == "$" && previous == "$" { inDollar = false; previous = " "; continue }
            } else if inQuote {
                if character == "'" { inQuote = false }
            } else if character == "-" && previous == "-" {
                inComment = true
            } else if character == "'" {
                inQuote = true
            } else if character == "$" && previous == "$" {
                inDollar = true; previous = " "; continue
            } else if character == ";" {
                current.removeLast()
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { result.append(statement) }
                current = ""
            }
            previous = character
        }
        let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !statement.isEmpty { result.append(statement) }
        return result
    }

    /// The advisory-lock key migrations hold ('SWYD' as a number).
    static let migrationLock: Int64 = 0x5357_5944
}

/// Runs the bridged tasks of `blocking` (and the pools' run loops) on threads of their own, never on
/// the global executor whose thread a blocked caller may be holding, nor on Dispatch's shared pool:
/// callers block Dispatch threads (`BlockingWork`), and on Linux Dispatch adds threads for blocked
/// ones only slowly, so work queued behind them waited tens of seconds (seen in the test suite).
final class PostgresTaskExecutor: TaskExecutor {
    static let shared = PostgresTaskExecutor()
    private let pool: NIOThreadPool

    init() {
        pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { state in
            guard case .active = state else { return }
            job.runSynchronously(on: executor)
        }
    }
}

/// A storage error with a message fit for a client and a log: no SQL, no binds, no URL.
public struct StorageFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ error: any Error) {
        if let failure = error as? StorageFailure { description = failure.description; return }
        description = "PostgreSQL: " + PostgresDatabase.describe(error)
    }
    public init(message: String) { description = message }
}

extension AsyncSequence where Self: Sendable {
    /// Every element, in order (`decode(…)` sequences of query rows).
    public func all() async throws -> [Element] {
        var result: [Element] = []
        for try await element in self { result.append(element) }
        return result
    }
}

extension PostgresDatabase: StorageProbe {
    public var backend: String { "postgres" }
    public var location: String { url.redacted }
    public func probe() async -> StorageStatus {
        _ = await probe(timeout: .seconds(2))
        return lastStatus
    }
    public var lastStatus: StorageStatus {
        let health = currentHealth
        return StorageStatus(reachable: health.reachable, error: health.lastError, since: health.lastChange)
    }
}
