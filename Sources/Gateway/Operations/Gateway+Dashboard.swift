import Foundation
import Routing
import SwitchyardCore

/// What the dashboard reads besides the existing APIs: the log a page at a time, the overview's
/// time series, and the deployments with their breakers. Each is scoped to the caller.
extension Gateway {
    /// A page of the request-log rows the caller may see (see `ledgerScope`) that match `filter`,
    /// newest first, after `before`; every request finished before the call is included. With
    /// `feedback`, each row carries the feedback on it and on its episode (as `recentRequests` does).
    public func requestPage(
        _ filter: RequestLogFilter, before: RequestLogCursor?, limit: Int, feedback: Bool = true, caller: Caller
    ) async throws -> RequestLogPage {
        guard let store = requestLog.store else { return RequestLogPage(records: [], next: nil, total: 0, totalIsExact: true) }
        await requestLog.flushForRead()
        var page = try await store.page(filter, before: before, limit: limit, scope: caller.ledgerScope)
        if feedback { page.records = try await withFeedback(page.records, store: store) }
        return page
    }

    /// The overview of the caller's part of the log from `since` to `until`, in buckets of `bucketSeconds`.
    public func requestOverview(
        since: Date, until: Date, bucketSeconds: Int, filter: RequestLogFilter = .init(), caller: Caller
    ) async throws -> RequestLogOverview {
        guard let store = requestLog.store else {
            return RequestLogOverview(since: since, until: until, bucketSeconds: bucketSeconds, buckets: [], totals: .init(), models: [])
        }
        await requestLog.flushForRead()
        return try await store.overview(since: since, until: until, bucketSeconds: bucketSeconds, filter: filter, scope: caller.ledgerScope)
    }

    /// A deployment as the dashboard shows it: its configuration and its live health.
    public struct DeploymentState: Sendable {
        public var model: ModelSpec
        public var providerKind: String?
        /// `closed`, `open` or `half_open`.
        public var breaker: String
        /// For an open breaker: seconds until it lets a probe through.
        public var probeInSeconds: Double?
        public var available: Bool
        public var inFlight: Int
        public var latencyMs: Double?
        public var ttftMs: Double?
        public var requestsLastMinute: Int
        public var tokensLastMinute: Int
    }

    /// Every deployment (configured model) the caller may use, with its breaker state and recent load.
    public func deploymentStates(caller: Caller) -> [DeploymentState] {
        let kinds = Dictionary(configuration.providers.map { ($0.name, $0.kind.rawValue) }, uniquingKeysWith: { first, _ in first })
        return availableModels(for: caller).map { model in
            let snapshot = health.snapshot(model.name)
            let breaker: String
            switch health.breakerState(model.name) {
            case .closed: breaker = "closed"
            case .open: breaker = "open"
            case .halfOpen: breaker = "half_open"
            }
            return DeploymentState(
                model: model, providerKind: kinds[model.provider], breaker: breaker,
                probeInSeconds: breaker == "open" ? health.secondsUntilProbe(model.name) : nil, available: snapshot.available,
                inFlight: snapshot.inFlight, latencyMs: snapshot.latencyMs, ttftMs: snapshot.ttftMs,
                requestsLastMinute: snapshot.requestsLastMinute, tokensLastMinute: snapshot.tokensLastMinute)
        }
    }
}
