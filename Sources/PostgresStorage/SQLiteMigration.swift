import Foundation
import Governance
import Logging
import Storage
import SwitchyardCore

/// Copies an embedded deployment — the one SQLite file `switchyard serve` writes — into a PostgreSQL
/// database, so a team can move to replicas (`switchyard migrate`). Everything comes along: keys,
/// teams, the audit chain (sequence numbers and hashes unchanged), the request log with its
/// feedback (budgets' spend is read from it), cached answers, collections with their documents and
/// chunks, workflow runs with their steps, stored responses, files and batches, eval reports.
///
/// Safe to repeat: into a database that already holds keys or logged requests it copies nothing
/// unless `force` is set, and then every row already there is left as it is (ON CONFLICT DO
/// NOTHING), so a second run adds only what is missing. The source's rows are only read (opening
/// its stores brings an older file's schema up to date, as `serve` would); the target's schema is
/// created before the checks, its rows only after them.
///
/// Every blocking store call runs through `BlockingWork.run`.
public struct SQLiteMigration: Sendable {
    /// Why a migration stopped; nothing was written when `kind` is `sourceMissing`, `targetNotEmpty`
    /// or `auditConflict`.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable { case sourceMissing, targetNotEmpty, auditConflict, verification }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    /// How many rows of a table the source holds (all of them are in the target afterwards) and how
    /// many of those this run added (the rest were there already).
    public struct Count: Sendable, Equatable {
        public var source = 0
        public var added = 0

        public init(source: Int = 0, added: Int = 0) {
            self.source = source
            self.added = added
        }
    }

    public struct Summary: Sendable {
        public init() {}

        public var requests = Count(), feedback = Count(), keys = Count(), teams = Count(), auditEntries = Count()
        public var collections = Count(), documents = Count(), chunks = Count(), cacheEntries = Count()
        public var workflowRuns = Count(), workflowSteps = Count(), responses = Count(), files = Count(), batches = Count(), batchLines = Count()
        public var evalReports = Count()
        /// Daily spend totals of records pruned by retention (not in `added`: a target that has its own keeps them).
        public var spendRollups = Count()

        /// `copied 1,234 requests, 5 keys, …`: the source's rows, every one of which the target now holds.
        public var copied: String {
            "copied " + [
                "\(Self.number(requests.source)) requests", "\(Self.number(feedback.source)) feedback",
                "\(Self.number(keys.source)) keys", "\(Self.number(teams.source)) teams",
                "\(Self.number(auditEntries.source)) audit entries",
                "\(Self.number(collections.source)) collections (\(Self.number(documents.source)) documents, \(Self.number(chunks.source)) chunks)",
                "\(Self.number(cacheEntries.source)) cached responses",
                "\(Self.number(workflowRuns.source)) workflow runs (\(Self.number(workflowSteps.source)) steps)",
                "\(Self.number(responses.source)) stored responses", "\(Self.number(files.source)) files",
                "\(Self.number(batches.source)) batches (\(Self.number(batchLines.source)) lines)",
                "\(Self.number(evalReports.source)) eval reports",
            ].joined(separator: ", ")
        }

        /// How many rows this run added in all (0: the target held everything already).
        public var added: Int {
            [requests, feedback, keys, teams, auditEntries, collections, documents, chunks, cacheEntries, workflowRuns, workflowSteps,
             responses, files, batches, batchLines, evalReports].reduce(0) { $0 + $1.added }
        }

        /// `1234567` as `1,234,567`.
        public static func number(_ value: Int) -> String {
            let digits = String(value.magnitude)
            var grouped = ""
            for (index, digit) in digits.enumerated() {
                if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
                grouped.append(digit)
            }
            return (value < 0 ? "-" : "") + grouped
        }
    }

    /// The SQLite file to read.
    public let sourcePath: String
    /// The database to copy into (its pool started).
    public let target: PostgresDatabase
    /// Copy into a database that already holds keys or logged requests (adding only what is missing).
    public var force: Bool
    /// Rows read and written per page of the request log (and of the other large tables).
    public var pageSize: Int
    /// Told one line per table as it is done.
    public var progress: @Sendable (String) -> Void

    public init(
        sourcePath: String, target: PostgresDatabase, force: Bool = false, pageSize: Int = 1_000,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.sourcePath = sourcePath
        self.target = target
        self.force = force
        self.pageSize = max(1, pageSize)
        self.progress = progress
    }

    /// The SQLite side's stores, all on one file.
    struct Source: Sendable {
        let governance: GovernanceStore
        let requestLog: RequestLogStore
        let cache: ResponseCacheStore
        let retrieval: RetrievalStore
        let workflows: WorkflowRunStore
        let responses: ResponseStore
        let batches: BatchStore
        let evalReports: EvalReportStore

        init(path: String) throws {
            governance = try GovernanceStore(path: path)
            requestLog = try RequestLogStore(path: path)
            cache = try ResponseCacheStore(path: path)
            retrieval = try RetrievalStore(path: path)
            workflows = try WorkflowRunStore(path: path)
            responses = try ResponseStore(path: path)
            batches = try BatchStore(path: path)
            evalReports = try EvalReportStore(path: path)
        }
    }

    /// The PostgreSQL side's stores (their migrations applied on opening).
    struct Target: Sendable {
        let governance: PostgresGovernanceStore
        let requestLog: PostgresRequestLogStore
        let cache: PostgresCacheStore
        let retrieval: PostgresRetrievalStore
        let workflows: PostgresWorkflowRunStore
        let responses: PostgresResponseStore
        let batches: PostgresBatchStore
        let evalReports: PostgresEvalReportStore

        init(database: PostgresDatabase) throws {
            let log = try PostgresRequestLogStore(database: database)
            requestLog = log
            governance = try PostgresGovernanceStore(database: database, spend: { key, team, since in try log.spend(key: key, team: team, since: since) })
            cache = try PostgresCacheStore(database: database)
            retrieval = try PostgresRetrievalStore(database: database)
            workflows = try PostgresWorkflowRunStore(database: database, replicaID: "switchyard-migrate")
            responses = try PostgresResponseStore(database: database)
            batches = try PostgresBatchStore(database: database)
            evalReports = try PostgresEvalReportStore(database: database)
        }
    }

    /// Copies everything, then checks the target: the audit chain verifies and holds the source's
    /// entries, and the request log holds at least the source's rows.
    public func run() async throws -> Summary {
        let path = sourcePath
        guard path != ":memory:", FileManager.default.fileExists(atPath: path) else {
            throw Failure(kind: .sourceMissing, message: "No SQLite database at '\(path)': give the file `switchyard serve` wrote (storage.sqlite).")
        }
        let source = try await BlockingWork.run { try Source(path: path) }
        let database = target
        let destination = try await BlockingWork.run { try Target(database: database) }

        // Everything that can refuse, before anything is written.
        let sourceAudit = try await BlockingWork.run { try source.governance.auditEntries() }
        let targetAudit = try await BlockingWork.run { try destination.governance.auditEntries() }
        try await checkTargetIsEmptyOrForced(destination)
        try checkAuditChains(source: sourceAudit, target: targetAudit)

        var summary = Summary()
        try await copyGovernance(source, destination, audit: sourceAudit, alreadyThere: targetAudit.count, into: &summary)
        try await copyRequestLog(source, destination, into: &summary)
        try await copyCache(source, destination, into: &summary)
        try await copyCollections(source, destination, into: &summary)
        try await copyWorkflowRuns(source, destination, into: &summary)
        try await copyResponses(source, destination, into: &summary)
        try await copyBatches(source, destination, into: &summary)
        try await copyEvalReports(source, destination, into: &summary)
        try await verify(destination, audit: sourceAudit, requests: summary.requests.source)
        return summary
    }

    /// Refuses a target that already holds keys or logged requests, unless forced.
    private func checkTargetIsEmptyOrForced(_ target: Target) async throws {
        guard !force else { return }
        let keys = try await BlockingWork.run { try target.governance.loadKeys().count }
        let requests = try await BlockingWork.run { try target.requestLog.count() }
        guard keys == 0, requests == 0 else {
            throw Failure(
                kind: .targetNotEmpty,
                message: "The database \(self.target.url.redacted) already holds \(Summary.number(keys)) keys and \(Summary.number(requests)) "
                    + "logged requests; nothing was copied. Migrate into an empty database, or add --force to copy only what it lacks "
                    + "(rows already there are kept as they are).")
        }
    }

    /// Two audit chains cannot be merged: the target's must be empty, or a prefix of the source's
    /// (an earlier migration), or the source's extended (appended to since).
    private func checkAuditChains(source: [AuditEntry], target: [AuditEntry]) throws {
        for (mine, theirs) in zip(source, target) where mine.sequence != theirs.sequence || mine.hash != theirs.hash {
            throw Failure(
                kind: .auditConflict,
                message: "The audit log in \(self.target.url.redacted) is another chain (entry \(theirs.sequence) differs from the source's); "
                    + "two chains cannot be merged, so nothing was copied. Migrate into a fresh database.")
        }
    }

    /// The audit chain verifies and holds the source's entries; the log holds at least the source's rows.
    private func verify(_ target: Target, audit: [AuditEntry], requests: Int) async throws {
        let stored = try await BlockingWork.run { try target.governance.auditEntries() }
        if let broken = AuditChain.verify(stored) {
            throw Failure(kind: .verification, message: "The copied audit log does not verify: \(broken).")
        }
        guard stored.count >= audit.count, zip(audit, stored).allSatisfy({ $0.hash == $1.hash }) else {
            throw Failure(kind: .verification, message: "The copied audit log does not hold the source's \(audit.count) entries.")
        }
        let logged = try await BlockingWork.run { try target.requestLog.count() }
        guard logged >= requests else {
            throw Failure(
                kind: .verification,
                message: "The target's request log holds \(Summary.number(logged)) rows, fewer than the source's \(Summary.number(requests)).")
        }
        progress("verified: the audit chain (\(stored.count) entries) and the request log (\(Summary.number(logged)) rows)")
    }

    func report(_ table: String, _ count: Count, detail: String = "") {
        let added = count.added == count.source ? "" : count.added == 0 ? " (all already there)"
            : " (\(Summary.number(count.added)) new, the rest already there)"
        progress("\(table): \(Summary.number(count.source))\(detail)\(added)")
    }
}
