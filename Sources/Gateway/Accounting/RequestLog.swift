import Caching
import Foundation
import Logging
import ServiceLifecycle
import Storage
import SwitchyardCore
import Synchronization

/// The request log's in-memory queue. The request path only appends; a background service writes
/// batches to the store (SQLite or PostgreSQL), so no request waits for the database.
public final class RequestLog: Sendable {
    private let pending = Mutex<[RequestRecord]>([])
    private let dropped = Atomic<Int>(0)
    private let capacity: Int
    /// Where batches go: SQLite (`RequestLogStore`) or PostgreSQL; nil keeps no log.
    public let store: (any RequestLogPersistence)?
    private let logger: Logger

    public init(store: (any RequestLogPersistence)?, capacity: Int = 50_000, logger: Logger = Logger(label: "switchyard.requestlog")) {
        self.store = store
        self.capacity = capacity
        self.logger = logger
    }

    /// Hears of every record as it leaves the queue (the gateway's metrics: counted off the request path, on the
    /// thread that writes the batch; a scrape flushes first, so counts are exact when read); set once, before
    /// requests arrive. Boxed: a
    /// closure kept directly in a `Mutex` is re-abstracted on every `withLock` write-back, and the thunks pile up
    /// call after call (the request path slowed to a crawl and overflowed its stack under load).
    private let observer = Mutex<ClosureBox<RequestRecord>?>(nil)

    func observe(_ body: @escaping @Sendable (RequestRecord) -> Void) {
        let box = ClosureBox(body)
        observer.withLock { $0 = box }
    }

    /// Records waiting to be written.
    public var queueDepth: Int { pending.withLock { $0.count } }

    /// Queues a record; never blocks. When the queue is full (the database is far behind) the record is dropped and counted.
    public func record(_ record: RequestRecord) {
        let accepted = pending.withLock { queue in
            guard queue.count < capacity else { return false }
            queue.append(record)
            return true
        }
        if !accepted {
            dropped.add(1, ordering: .relaxed)
            observer.withLock { $0 }?.body(record)  // not logged, still counted
        }
    }

    private func takeBatch() -> [RequestRecord] {
        let batch = pending.withLock { queue in
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            return batch
        }
        if let observer = observer.withLock({ $0 }) {
            for record in batch { observer.body(record) }
        }
        return batch
    }

    /// Records dropped because the queue was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Writes everything queued so far. Flushes are serialised (the queue is emptied on the
    /// database's writer thread, in order): when this returns, every record queued before the call
    /// is in the store, even one a concurrent flush had already taken.
    public func flush() async {
        guard let store else {
            _ = takeBatch()  // nowhere to write: do not let the queue grow
            return
        }
        do {
            try await store.insert { [self] in takeBatch() }
        } catch {
            logger.error("could not write a batch of request log records", metadata: ["switchyard.error": "\(error)"])
        }
    }
}

/// Flushes the request log every `interval`, and once more on shutdown.
public struct RequestLogService: Service {
    let log: RequestLog
    let interval: Duration

    public init(log: RequestLog, interval: Duration = .milliseconds(200)) {
        self.log = log
        self.interval = interval
    }

    public func run() async throws {
        await runPeriodically(every: interval, finally: true) { await log.flush() }
    }
}

/// Writes queued cache fills to SQLite every `interval`, and once more on shutdown.
public struct CacheFlushService: Service {
    let cache: ResponseCache
    let interval: Duration
    let logger: Logger

    public init(cache: ResponseCache, interval: Duration = .milliseconds(500), logger: Logger = Logger(label: "switchyard.cache")) {
        self.cache = cache
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await runPeriodically(every: interval, finally: true) { await flush() }
    }

    private func flush() async {
        do {
            try await cache.flush()
        } catch {
            logger.error("could not persist cache entries", metadata: ["switchyard.error": "\(error)"])
        }
    }
}

/// Runs `work` every `interval` until the service group shuts down or the task is cancelled, and
/// once more at the end when `finally` is set. The wait is cut short by a graceful shutdown, so a
/// last flush is never a whole interval late.
func runPeriodically(every interval: Duration, finally: Bool, _ work: () async -> Void) async {
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        } catch {
            break
        }
        await work()
    }
    if finally { await work() }
}

/// A closure in a class, so a `Mutex` can hold it without re-abstracting it on each access.
final class ClosureBox<Argument>: Sendable {
    let body: @Sendable (Argument) -> Void
    init(_ body: @escaping @Sendable (Argument) -> Void) { self.body = body }
}
