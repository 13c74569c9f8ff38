import Synchronization

/// `withDeadline` ran out of time.
public struct DeadlineExceeded: Error, Sendable {
    public init() {}
}

/// Who finishes first in `withDeadline`: the body or the timer.
final class DeadlineRace<T: Sendable>: Sendable {
    let pending = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let tasks = Mutex<(work: Task<Void, Never>?, timer: Task<Void, Never>?)>((nil, nil))
}

/// Runs `body`, or throws `DeadlineExceeded` after `timeout` — then, not when `body` ends: a call
/// that does not answer cancellation at once (a pool still trying to reach a database that is gone)
/// would hold a task group until it gave up. The late body is cancelled and left to finish on its own.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withCheckedThrowingContinuation { continuation in
        race.pending.withLock { $0 = continuation }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            if let continuation = race.pending.withLock({ slot in defer { slot = nil }; return slot }) {
                race.tasks.withLock { $0.timer }?.cancel()
                continuation.resume(with: result)
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            if let continuation = race.pending.withLock({ slot in defer { slot = nil }; return slot }) {
                race.tasks.withLock { $0.work }?.cancel()
                continuation.resume(throwing: DeadlineExceeded())
            }
        }
        race.tasks.withLock { $0 = (work, timer) }
    }
}
