import Foundation

/// Whether the storage a gateway depends on answers: for `/health`, `/ready` and the metrics. The
/// embedded SQLite file has none (it cannot be "unreachable"); a shared PostgreSQL does.
public protocol StorageProbe: Sendable {
    /// `postgres` (and later others).
    var backend: String { get }
    /// Where, without credentials (`postgres://user@host:port/db`).
    var location: String { get }
    /// Asks the database now (bounded by a short deadline).
    func probe() async -> StorageStatus
    /// What the last call said, without asking (for the metrics).
    var lastStatus: StorageStatus { get }
}

public struct StorageStatus: Sendable, Hashable {
    public var reachable: Bool
    /// What went wrong, without secrets.
    public var error: String?
    /// When `reachable` last changed.
    public var since: Date
    public init(reachable: Bool, error: String? = nil, since: Date) {
        self.reachable = reachable
        self.error = error
        self.since = since
    }
}
