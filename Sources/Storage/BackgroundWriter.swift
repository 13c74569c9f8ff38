import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// A dedicated thread, at a lower CPU priority (nice +10), that runs the background database
/// writes (request-log batches, cache fills) one after another.
///
/// On GRDB's own queue these writes ran at the priority of the event loops: a batch of a few
/// hundred records takes the writer several milliseconds, and when the scheduler woke an event
/// loop (or the upstream's or the client's process) on that core, it waited behind the batch —
/// one-connection p99 through a routed group went from ~1 ms with no flushes to ~3 ms with a
/// flush every 200 ms. At nice +10 the writer still gets ~10 % of a busy core (its share under
/// full load is a few percent), but yields the core to request work at once.
final class BackgroundWriter: @unchecked Sendable {
    // @unchecked: `jobs` is only touched with `condition` held.
    static let shared = BackgroundWriter(name: "switchyard-dbw", nice: 10)
    /// Workflow checkpoints: the next step waits for each one, so they run at normal priority and never queue
    /// behind a request-log batch on the shared writer.
    static let checkpoints = BackgroundWriter(name: "switchyard-ckpt", nice: 0)
    /// Flushes a reader waits for (`RequestLogStore.insertForReader`), at normal priority.
    static let readers = BackgroundWriter(name: "switchyard-dbr", nice: 0)

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init(name: String, nice: Int32) {
        let thread = Thread { [unowned self] in
            #if canImport(Glibc)
            // On Linux the nice value is per thread, and 0 names the calling one. Failure leaves
            // the default priority.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
            #endif
            Thread.current.name = name  // set from the thread itself, so the OS thread carries it
            self.loop()
        }
        thread.name = name
        thread.start()
    }

    /// Runs `work` on the writer thread and returns its result. GRDB's synchronous `write` called
    /// there runs on that thread (a `sync` onto an idle serial queue runs inline).
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Result { try work() }) }
            condition.signal()
            condition.unlock()
        }
    }

    /// Call before each row of a batch: every 8 rows, hands the core to whatever else is runnable
    /// on it. A batch of routed request-log records is ~10 ms of work, and the scheduler does not
    /// always preempt this thread when request work is woken onto its core; this bounds the wait
    /// (one connection through a routed group: p99 2.0-4.1 ms without it, 0.91-0.95 ms with it).
    static func yield(after row: Int) {
        if row % 8 == 7 { sched_yield() }
    }

    /// `database.write(updates)` on the writer thread.
    func write<T: Sendable>(_ database: any DatabaseWriter, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await run { try database.write(updates) }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job() }
        }
    }
}
