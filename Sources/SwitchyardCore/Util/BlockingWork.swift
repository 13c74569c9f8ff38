import Dispatch

/// Runs synchronous work that blocks — SQLite reads and writes, index files, locks held across
/// them, pipe writes — on threads of its own, and suspends the caller until it is done.
///
/// `serve` runs Swift concurrency on NIO's event loops, so a task that blocks holds up every
/// connection of its loop; work that may block for more than a few microseconds goes through here.
public enum BlockingWork {
    private static let queue = DispatchQueue(label: "switchyard.blocking", qos: .userInitiated, attributes: .concurrent)

    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
