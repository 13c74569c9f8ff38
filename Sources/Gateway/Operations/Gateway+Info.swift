import Caching
import Foundation
import ServiceLifecycle
import SwitchyardCore

public typealias CacheStats = Caching.CacheStats

/// The request log, the cache and the background services, as the HTTP API and CLI see them.
extension Gateway {
    /// The newest request-log records first that the caller may see (an admin all, a team admin its
    /// team's, a member its own); every request finished before the call is included.
    public func recentRequests(limit: Int, caller: Caller) async throws -> [RequestRecord] {
        guard let store = requestLog.store else { return [] }
        await requestLog.flushForRead()
        return try await withFeedback(try await store.recent(limit: limit, scope: caller.ledgerScope), store: store)
    }

    /// One request's record (with its route decision and the feedback on it and on its episode), or
    /// nil — also when the caller may not see it.
    public func requestRecord(id: String, caller: Caller) async throws -> RequestRecord? {
        guard let store = requestLog.store else { return nil }
        await requestLog.flushForRead()
        guard let record = try await store.record(id: id, scope: caller.ledgerScope) else { return nil }
        var shown = try await withFeedback([record], store: store)[0]
        if shown.feedback == nil { shown.feedback = [] }
        return shown
    }

    /// Cache counters; a 404 when caching is off.
    public func cacheStats(caller: Caller) throws -> CacheStats {
        try enabledCache().stats()
    }

    /// Empties the cache (one key's namespace — its id, or its name — or all); returns how many entries went.
    public func clearCache(namespace: String?, caller: Caller) async throws -> Int {
        let id = namespace.map { name in governor.keys().first { $0.0.name == name }?.0.id ?? name }
        let removed = try await enabledCache().clear(namespace: id)
        await audit(caller, "cache.clear", target: id ?? "*", details: ["removed": .int(Int64(removed))])
        return removed
    }

    private func enabledCache() throws -> ResponseCache {
        guard let cache else {
            throw SwitchyardError(code: .notFound, message: "Caching is off in this configuration (add a `cache:` section).", status: 404)
        }
        return cache
    }

    /// What must run beside the HTTP server: the request-log flusher (and its retention), the cache's
    /// persistence, the collection sync and the MCP connections.
    public var backgroundServices: [any Service] {
        var services: [any Service] = [
            RequestLogService(log: requestLog, interval: .milliseconds(configuration.storage.flushMilliseconds)),
            ResponseArchiveService(archive: responses),
        ]
        if let cache { services.append(CacheFlushService(cache: cache)) }
        if let days = configuration.requestLog.retentionDays, let store = requestLog.store {
            services.append(RequestLogRetentionService(store: store, days: days, logger: logger))
        }
        if let interval = configuration.retrieval.syncInterval {
            services.append(CollectionSyncService(collections: collections, interval: interval))
        }
        if let tools { services.append(tools) }
        if !configuration.workflows.isEmpty { services.append(WorkflowService(gateway: self, logger: logger)) }
        if !configuration.workflows.isEmpty, let workflowLeases {
            services.append(WorkflowLeaseService(gateway: self, leases: workflowLeases, logger: logger))
        }
        return services
    }
}
