import Foundation

/// Runs `body`, or gives up after `timeout`: `onTimeout` runs first so that it can release what
/// `body` waits on (the SDK's pending requests do not end on task cancellation), then
/// `ToolError.timeout` is thrown.
func withDeadline<Result: Sendable>(
    _ timeout: Duration, what: String, onTimeout: @escaping @Sendable () async -> Void,
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        if let first { return first }
        await onTimeout()
        throw ToolError(.timeout, "\(what) did not answer within \(timeout.milliseconds) ms.")
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
