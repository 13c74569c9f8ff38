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
    /// Records waiting for the store, and the spool segments that hold them (see `RequestLogSpool`).
    struct Queue {
        var records: [RequestRecord] = []
        var segments: [Int] = []
        /// How many records at the head came back from a failed batch (already counted by the metrics).
        var recounted = 0
    }

    private let pending = Mutex(Queue())
    /// With PostgreSQL replicas: every record is also appended to a local file until stored.
    public let spool: RequestLogSpool?
    private let flushes = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let capacity: Int
    /// Where batches go: SQLite (`RequestLogStore`) or PostgreSQL; nil keeps no log.
    public let store: (any RequestLogPersistence)?
    private let logger: Logger

    public init(store: (any RequestLogPersistence)?, spool: RequestLogSpool? = nil, capacity: Int = 50_000, logger: Logger = Logger(label: "switchyard.requestlog")) {
        self.store = store
        self.spool = spool
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
    public var queueDepth: Int { pending.withLock { $0.records.count } }
    /// Records the queue's buffer holds room for (what it keeps between batches is at most `retainedCapacity`).
    var queueCapacity: Int { pending.withLock { $0.records.capacity } }
    /// The most room kept for the next batch: a fifth of a second at 5,000 requests/s.
    static let retainedCapacity = 1_024

    /// Queues a record; never blocks. When the queue is full (the database is far behind) the record is dropped and counted.
    public func record(_ record: RequestRecord) {
        let line = spool == nil ? nil : RequestLogSpool.line(record)
        let accepted = pending.withLock { queue in
            guard queue.records.count < capacity else { return false }
            queue.records.append(record)
            if let line { spool?.append(line) }
            return true
        }
        if !accepted {
            dropped.add(1, ordering: .relaxed)
            observer.withLock { $0 }?.body(record)  // not logged, still counted
        }
    }

    private func takeBatch() -> (records: [RequestRecord], segments: [Int]) {
        let (records, segments, recounted) = pending.withLock { queue in
            var segments = queue.segments
            if let closed = spool?.rotate() { segments.append(closed) }
            let batch = (queue.records, segments, queue.recounted)
            // A fresh buffer sized for a usual batch. `removeAll(keepingCapacity: true)` on the buffer the batch still
            // shares allocated a new one as large as the queue had ever been, for every later batch: once the writer
            // fell behind, every batch after it cost that much memory again (heaptrack's largest allocation in a soak).
            queue.records = []
            queue.records.reserveCapacity(min(batch.0.count, Self.retainedCapacity))
            queue.segments.removeAll()
            queue.recounted = 0
            return batch
        }
        if let observer = observer.withLock({ $0 }) {
            for record in records.dropFirst(recounted) { observer.body(record) }
        }
        return (records, segments)
    }

    /// A batch the store refused goes back to the head of the queue (what no longer fits is
    /// dropped and counted), its spool segments kept until a later batch stores it.
    private func requeue(_ batch: (records: [RequestRecord], segments: [Int])) {
        let lost = pending.withLock { queue -> Int in
            let room = max(0, capacity - queue.records.count)
            queue.records.insert(contentsOf: batch.records.prefix(room), at: 0)
            queue.segments.insert(contentsOf: batch.segments, at: 0)
            queue.recounted += min(room, batch.records.count)
            return max(0, batch.records.count - room)
        }
        if lost > 0 { dropped.add(lost, ordering: .relaxed) }
    }

    /// Records dropped because the queue was full.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Writes everything queued so far. Flushes are serialised (the queue is emptied on the
    /// database's writer thread, in order): when this returns, every record queued before the call
    /// is in the store, even one a concurrent flush had already taken.
    ///
    /// - Parameter forReader: a read waits for this flush: it does not queue behind background writes
    ///   (`RequestLogPersistence.insertForReader`).
    public func flush(forReader: Bool = false) async {
        guard let store else {
            _ = takeBatch()  // nowhere to write: do not let the queue grow
            return
        }
        let taken = Mutex<(records: [RequestRecord], segments: [Int])>(([], []))
        let take: @Sendable () -> [RequestRecord] = { [self] in
            let batch = takeBatch()
            taken.withLock { $0 = batch }
            return batch.records
        }
        do {
            if forReader { try await store.insertForReader(taking: take) } else { try await store.insert(taking: take) }
            spool?.discard(taken.withLock { $0.segments })
        } catch {
            let batch = taken.withLock { $0 }
            requeue((batch.records, batch.segments))
            logger.error(
                "could not write a batch of request log records; kept to try again",
                metadata: ["switchyard.error": "\(error)", "switchyard.records": "\(batch.records.count)"])
        }
        if let spool, flushes.add(1, ordering: .relaxed).newValue % 10 == 1 { await adopt(spool, store: store) }
    }

    /// What a read of the log (or a scrape) waits for before it reads: everything queued, with the
    /// embedded file; at most two seconds with a shared database (replicas keep a spool), which may
    /// be down — the read then shows what is stored, and the rest follows when it is back.
    public func flushForRead() async {
        if spool == nil { await flush(forReader: true) } else { await flush(within: .seconds(2)) }
    }

    /// Flushes, waiting at most `limit` (the flush goes on in the background when it is late).
    /// Returns whether it finished in time.
    @discardableResult
    public func flush(within limit: Duration) async -> Bool {
        (try? await withDeadline(limit) { await self.flush(forReader: true) }) != nil
    }

    /// Stores the spooled records of replicas that died (sharing the spool directory).
    private func adopt(_ spool: RequestLogSpool, store: any RequestLogPersistence) async {
        for orphan in spool.orphans() {
            do {
                if !orphan.records.isEmpty { try await store.insert { orphan.records } }
                orphan.remove()
            } catch {
                logger.error("could not store an adopted request-log spool; trying again later", metadata: ["switchyard.error": "\(error)"])
            }
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
