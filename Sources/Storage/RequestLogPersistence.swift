import Foundation
import SwitchyardCore

/// Where the request log lives: SQLite (`RequestLogStore`, one gateway) or PostgreSQL
/// (`PostgresRequestLogStore`, replicas sharing one database). Both give the same answers to the
/// same rows: the same filters, scopes, order (newest first by the request's own `created_at`,
/// then id), paging and grouping.
///
/// Writes come in batches from a background service (`insert(taking:)`); reads serve the API, the
/// dashboard and the CLI. `count()` and `spend(key:team:since:)` block: call them off the event loops.
public protocol RequestLogPersistence: Sendable {
    /// Takes a batch from `take` and stores it. Batches are taken and written in the order they were
    /// asked for: when this returns, every record `take` would have returned at the call is stored,
    /// even one an earlier call took but had not written yet.
    func insert(taking take: @escaping @Sendable () -> [RequestRecord]) async throws
    /// `insert(taking:)` for a reader waiting on it (the API, the dashboard, a scrape): the same guarantee,
    /// without queueing behind the background writes of other databases. By default the same call.
    func insertForReader(taking take: @escaping @Sendable () -> [RequestRecord]) async throws

    /// The newest records first, of those `scope` may see.
    func recent(limit: Int, scope: LedgerScope) async throws -> [RequestRecord]
    /// One record, when `scope` may see it.
    func record(id: String, scope: LedgerScope) async throws -> RequestRecord?
    /// Requests, tokens, cost and feedback grouped by one dimension, since a time, within a scope.
    func spendReport(groupBy: SpendGrouping, since: Date?, until: Date?, scope: LedgerScope) async throws -> [SpendRow]
    /// How many records the log holds.
    func count() throws -> Int
    /// Cost since `since` of a key (`key_…`), a team, or both (nil: not narrowed by it); the budgets' ledger.
    /// Pruned days count through their daily roll-ups, exactly when `since` is a UTC midnight (as budget periods are).
    func spend(key: String?, team: String?, since: Date) throws -> Double
    /// Retention: deletes up to `limit` of the oldest records created before `cutoff`, first rolling their cost
    /// into per-day, per-key, per-team totals that `spend` still counts; returns how many records went (call
    /// again until fewer than `limit`). The last batch also deletes feedback given before `cutoff`.
    func prune(before cutoff: Date, limit: Int) async throws -> Int

    /// One page of the rows `scope` may see that match `filter`, newest first, starting after `before`.
    func page(_ filter: RequestLogFilter, before: RequestLogCursor?, limit: Int, scope: LedgerScope) async throws -> RequestLogPage
    /// The dashboard's figures from `since` to `until` in buckets of `bucketSeconds`, in total and per model.
    func overview(
        since: Date, until: Date, bucketSeconds: Int, filter: RequestLogFilter, scope: LedgerScope
    ) async throws -> RequestLogOverview

    /// Stores one piece of feedback.
    func insertFeedback(_ feedback: Feedback) async throws
    /// True when `scope` may see at least one request of the episode.
    func episodeExists(_ episodeID: String, scope: LedgerScope) async throws -> Bool
    /// Feedback on each record and on its episode, oldest first, by request id.
    func feedback(for records: [RequestRecord]) async throws -> [String: [Feedback]]
    /// The logged requests of experiment `name` (their `variant` is `name/…`) and their feedback.
    func experimentObservations(_ name: String) async throws -> ExperimentObservations
    /// Logged prompts with the newest feedback on `metric`, scaled to [0, 1], oldest first (`route train --from-log`).
    func outcomeObservations(metric: String) async throws -> [OutcomeObservation]
}

extension RequestLogPersistence {
    public func recent(limit: Int) async throws -> [RequestRecord] {
        try await recent(limit: limit, scope: .all)
    }

    public func record(id: String) async throws -> RequestRecord? {
        try await record(id: id, scope: .all)
    }

    public func page(_ filter: RequestLogFilter, before: RequestLogCursor?, limit: Int) async throws -> RequestLogPage {
        try await page(filter, before: before, limit: limit, scope: .all)
    }

    public func overview(since: Date, until: Date, bucketSeconds: Int) async throws -> RequestLogOverview {
        try await overview(since: since, until: until, bucketSeconds: bucketSeconds, filter: .init(), scope: .all)
    }

    public func overview(since: Date, until: Date, bucketSeconds: Int, filter: RequestLogFilter) async throws -> RequestLogOverview {
        try await overview(since: since, until: until, bucketSeconds: bucketSeconds, filter: filter, scope: .all)
    }

    public func overview(since: Date, until: Date, bucketSeconds: Int, scope: LedgerScope) async throws -> RequestLogOverview {
        try await overview(since: since, until: until, bucketSeconds: bucketSeconds, filter: .init(), scope: scope)
    }

    public func episodeExists(_ episodeID: String) async throws -> Bool {
        try await episodeExists(episodeID, scope: .all)
    }
}

/// What an experiment report is computed from.
public struct ExperimentObservations: Sendable {
    public struct Request: Sendable, Hashable {
        public var costUSD: Double
        public var latencyMs: Double
        public var failed: Bool

        public init(costUSD: Double, latencyMs: Double, failed: Bool) {
            self.costUSD = costUSD
            self.latencyMs = latencyMs
            self.failed = failed
        }
    }

    /// Requests by variant name.
    public var requests: [String: [Request]] = [:]
    /// The newest feedback values per target, by variant name and metric (an episode's feedback
    /// once per variant its requests were in).
    public var feedback: [String: [String: [FeedbackValue]]] = [:]

    public init() {}
}

extension RequestLogPersistence {
    public func insertForReader(taking take: @escaping @Sendable () -> [RequestRecord]) async throws {
        try await insert(taking: take)
    }
}
