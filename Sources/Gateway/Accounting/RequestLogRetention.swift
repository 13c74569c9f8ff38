import Foundation
import Logging
import ServiceLifecycle
import Storage

/// `request_log.retention_days`: deletes what is older, at start and every hour, in batches of bounded size
/// (each its own transaction, so request-log writes go on between them). Each record's cost goes into a daily
/// roll-up first, so budgets — a `total` one too — keep counting it; reads, spend reports and the dashboard
/// cover the days kept.
public struct RequestLogRetentionService: Service {
    let store: any RequestLogPersistence
    let days: Int
    let interval: Duration
    let batch: Int
    let logger: Logger

    public init(
        store: any RequestLogPersistence, days: Int, interval: Duration = .seconds(3600), batch: Int = 5_000,
        logger: Logger = Logger(label: "switchyard.requestlog")
    ) {
        self.store = store
        self.days = days
        self.interval = interval
        self.batch = batch
        self.logger = logger
    }

    /// The UTC midnight at or before `now` minus `days` whole days: records created before it go. Budget
    /// periods start at UTC midnights, so a period's spend is either all in records or all in roll-ups.
    public static func cutoff(now: Date, days: Int) -> Date {
        let day = 86_400.0
        let back = now.timeIntervalSince1970 - Double(max(0, days)) * day
        return Date(timeIntervalSince1970: (back / day).rounded(.down) * day)
    }

    /// Prunes everything before `cutoff`, batch after batch; returns how many records went.
    @discardableResult
    public static func prune(_ store: any RequestLogPersistence, before cutoff: Date, batch: Int) async throws -> Int {
        var removed = 0
        while true {
            let count = try await store.prune(before: cutoff, limit: batch)
            removed += count
            if count < batch || Task.isCancelled { return removed }
        }
    }

    public func run() async throws {
        await pruneNow()
        await runPeriodically(every: interval, finally: false) { await pruneNow() }
    }

    private func pruneNow() async {
        let cutoff = Self.cutoff(now: Date(), days: days)
        do {
            let removed = try await Self.prune(store, before: cutoff, batch: batch)
            if removed > 0 {
                logger.info(
                    "request log retention: deleted old records, their spend kept in daily totals",
                    metadata: ["switchyard.records": "\(removed)", "switchyard.before": "\(cutoff)"])
            }
        } catch {
            logger.error("request log retention: could not delete old records; trying again later", metadata: ["switchyard.error": "\(error)"])
        }
    }
}
