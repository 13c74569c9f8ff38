import Foundation
import Synchronization

/// Runs the encoder's steps on all cores: each step is split into `workers` slices, slice 0 on
/// the calling thread and the others on dedicated helper threads.
///
/// A forward pass is ~40 short steps (tens of microseconds each for a single query), too short
/// for a thread pool's wake-up latency, so the helpers spin briefly between steps and only then
/// sleep on a condition variable.
enum Parallel {
    /// Number of slices each step is split into: one per core (at most 8), or
    /// `SWITCHYARD_EMBEDDINGS_THREADS`.
    static let workers: Int = {
        if let text = ProcessInfo.processInfo.environment["SWITCHYARD_EMBEDDINGS_THREADS"], let value = Int(text), value > 0 {
            return min(value, 64)
        }
        return max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
    }()

    private static let pool = HelperPool(helpers: workers - 1)

    /// Calls `body(slice)` for slice in 0..<count (count ≤ workers), concurrently.
    static func run(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count <= 1 || workers <= 1 {
            for slice in 0..<max(count, 1) { body(slice) }
            return
        }
        pool.run(min(count, workers), body)
    }

    /// The half-open range of `total` items that slice `index` of `count` owns.
    @inline(__always)
    static func slice(_ index: Int, of count: Int, total: Int, multipleOf granule: Int = 1) -> Range<Int> {
        let units = (total + granule - 1) / granule
        let lower = min(total, (units * index / count) * granule)
        let upper = min(total, (units * (index + 1) / count) * granule)
        return lower..<upper
    }
}

/// Helper threads that share the slices of a job with the calling thread.
///
/// Slices are claimed from an atomic counter, so whoever is running takes the next slice: when a
/// helper is descheduled (a busy machine), the caller runs its slices itself instead of waiting.
final class HelperPool: @unchecked Sendable {
    // @unchecked: `job` is written only by the caller holding `callerLock`, before it publishes a
    // new generation in `claims` (release); a helper reads it only after claiming a valid slice of
    // that generation (acquire), and the caller waits until every claimed slice is done before it
    // returns or changes it.
    private let helpers: Int
    /// generation << 40 | slice count << 20 | next unclaimed slice.
    private let claims = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let callerLock = NSLock()
    private let sleepLock = NSCondition()
    private var sleepers = 0
    private var job: (@Sendable (Int) -> Void)?
    private var generation = 0
    /// Spins of an idle helper before it sleeps (roughly 0.2-1 ms).
    private let spinLimit = 200_000

    init(helpers: Int) {
        self.helpers = max(0, helpers)
        for index in 0..<self.helpers {
            // Dedicated OS threads rather than tasks: they spin on an atomic between steps,
            // which must never block a thread of Swift's cooperative pool.
            let thread = Thread { [unowned self] in self.helperLoop() }
            thread.name = "switchyard-embeddings-\(index + 1)"
            thread.start()
        }
    }

    func run(_ count: Int, _ body: @Sendable (Int) -> Void) {
        callerLock.lock()
        defer { callerLock.unlock() }
        withoutActuallyEscaping(body) { escapable in
            precondition(count < 1 << 20)
            generation = (generation + 1) & 0xFF_FFFF
            job = escapable
            finished.store(0, ordering: .relaxed)
            sleepLock.lock()
            claims.store(generation << 40 | count << 20, ordering: .releasing)
            if sleepers > 0 { sleepLock.broadcast() }
            sleepLock.unlock()
            var done = 0
            while let slice = claim(generation: generation) {
                escapable(slice)
                done += 1
            }
            var spins = 0
            while finished.load(ordering: .acquiring) + done < count {
                spins += 1
                if spins % 1024 == 0 { sched_yield() }
            }
            job = nil
        }
    }

    /// Takes the next slice of `generation`, or nil when all are taken or a newer job started.
    @inline(__always)
    private func claim(generation: Int) -> Int? {
        var current = claims.load(ordering: .acquiring)
        while true {
            let next = current & 0xF_FFFF, count = (current >> 20) & 0xF_FFFF
            guard current >> 40 == generation, next < count else { return nil }
            let (exchanged, original) = claims.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return next }
            current = original
        }
    }

    /// Runs one slice; the reference to the job ends here, before the slice is reported done
    /// (the caller's `withoutActuallyEscaping` checks that no reference outlives the call).
    @inline(never)
    private func runSlice(_ slice: Int) {
        job?(slice)
    }

    private func helperLoop() {
        var seen = 0
        while true {
            var spins = 0
            var current = claims.load(ordering: .acquiring) >> 40
            while current == seen {
                spins += 1
                if spins >= spinLimit {
                    sleepLock.lock()
                    sleepers += 1
                    while claims.load(ordering: .acquiring) >> 40 == seen { sleepLock.wait() }
                    sleepers -= 1
                    sleepLock.unlock()
                    spins = 0
                }
                current = claims.load(ordering: .acquiring) >> 40
            }
            seen = current
            while let slice = claim(generation: seen) {
                runSlice(slice)
                finished.add(1, ordering: .releasing)
            }
        }
    }
}
