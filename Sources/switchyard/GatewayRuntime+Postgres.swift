import Foundation
import Gateway
import Governance
import Logging
import PostgresStorage
import ServiceLifecycle
import SwitchyardCore

/// The PostgreSQL side of a gateway (`storage.postgres`): one pool, every store on it, and what
/// keeps replicas in step — shared budgets and rate limits, the change listener for keys and teams.
struct PostgresRuntime {
    let database: PostgresDatabase
    let governance: PostgresGovernanceStore
    let limits: PostgresSharedLimits
    let retrieval: PostgresRetrievalStore
    let workflows: PostgresWorkflowRunStore
    let requestLog: PostgresRequestLogStore
    let responses: PostgresResponseStore
    let batches: PostgresBatchStore
    let evalReports: PostgresEvalReportStore
    let cache: PostgresCacheStore
    let replicaID: String

    /// Connects and migrates; a database that cannot be reached stops the start, naming it (never its password).
    init(url text: String, logger: Logger) throws {
        let url: PostgresURL
        do { url = try PostgresURL(text) } catch { throw CommandFailure("storage.postgres: the PostgreSQL URL \(error)", .configuration) }
        database = PostgresDatabase(url: url, maximumConnections: 32, logger: logger)
        database.start()
        replicaID = Self.replicaID()
        do {
            let log = try PostgresRequestLogStore(database: database)
            requestLog = log
            // Budgets opened for the first time start from what the log says they spent (a deployment moved from SQLite).
            governance = try PostgresGovernanceStore(database: database, spend: { key, team, since in try log.spend(key: key, team: team, since: since) })
            limits = try PostgresSharedLimits(database: database, replicaID: replicaID)
            retrieval = try PostgresRetrievalStore(database: database)
            workflows = try PostgresWorkflowRunStore(database: database, replicaID: replicaID)
            responses = try PostgresResponseStore(database: database)
            batches = try PostgresBatchStore(database: database)
            evalReports = try PostgresEvalReportStore(database: database)
            cache = try PostgresCacheStore(database: database, lookupDeadline: .milliseconds(250))
        } catch {
            let database = database
            Task { await database.shutdown() }
            throw CommandFailure("Cannot use the PostgreSQL database at \(url.redacted): \(error)", .unavailable)
        }
        logger.info("storage: PostgreSQL", metadata: ["database": "\(url.redacted)", "replica": "\(replicaID)"])
    }

    /// `SWITCHYARD_REPLICA_ID`, else host name, process id and a random suffix (unique per start).
    static func replicaID() -> String {
        if let id = ProcessInfo.processInfo.environment["SWITCHYARD_REPLICA_ID"], !id.isEmpty { return String(id.prefix(100)) }
        return "\(ProcessInfo.processInfo.hostName.prefix(60))-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// After the Governor has loaded: budgets and limits count in the database from now on. Budgets
    /// no replica has opened yet start from the request log's spend in their period.
    func attach(to gateway: Gateway, logger: Logger) throws {
        let limits = limits
        let now = Date()
        let seeds = gateway.governor.budgetAccounts().map { subject, account in
            (subject: subject, periodStart: account.budget.period.start(containing: now), spent: account.spent)
        }
        try limits.seed(seeds)
        gateway.governor.share(limits, replicasAlive: { limits.replicasAlive })
        gateway.useStorageProbe(database)
    }

    func services(gateway: Gateway, logger: Logger) -> [any Service] {
        [limits, GovernanceSyncService(store: governance, governor: gateway.governor, logger: logger)]
    }

    func shutdown() async { await database.shutdown() }
}
