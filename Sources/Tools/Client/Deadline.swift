import Foundation

/// Runs `body`, or gives up after `timeout`. The SDK's pending requests do not end when their task
/// is cancelled, so on a timeout, and when the caller is cancelled, `onTimeout` runs first to
/// release what `body` waits on (it cancels the request or drops the connection); only then does
/// the group end. Throws `ToolError.timeout`, or `CancellationError` when the caller was cancelled.
func withDeadline<Result: Sendable>(
    _ timeout: Duration, what: String, onTimeout: @escaping @Sendable () async -> Void,
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            // Ends early, without throwing, when the caller is cancelled.
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first: Result?
        do {
            first = try await group.next() ?? nil
        } catch {
            group.cancelAll()  // `body` failed on its own: stop the timer
            throw error
        }
        if let first {
            group.cancelAll()
            return first
        }
        await onTimeout()
        group.cancelAll()
        if Task.isCancelled { throw CancellationError() }
        throw ToolError(.timeout, "\(what) did not answer within \(timeout.milliseconds) ms.")
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
