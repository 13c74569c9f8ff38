import Foundation

/// A cached answer as persisted: enough to rebuild the in-memory cache and its semantic index.
public struct CacheRecord: Sendable, Hashable {
    public var key: String
    public var namespace: String
    /// Scope of the semantic index (model, system prompt, tools, format, prefix, temperature bucket); nil if not semantic.
    public var scope: String?
    public var vector: [Float]?
    /// The text that was embedded (the last user turn), for verifying semantic candidates; nil in
    /// records written before verification, and when not semantic.
    public var text: String?
    /// The canonical response, JSON-encoded.
    public var response: Data
    public var model: String
    /// What the call cost when it was made: what each hit saves.
    public var costUSD: Double
    public var promptTokens: Int
    public var completionTokens: Int
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        key: String, namespace: String, scope: String?, vector: [Float]?, text: String? = nil, response: Data, model: String, costUSD: Double,
        promptTokens: Int, completionTokens: Int, createdAt: Date, expiresAt: Date
    ) {
        self.key = key
        self.namespace = namespace
        self.scope = scope
        self.vector = vector
        self.text = text
        self.response = response
        self.model = model
        self.costUSD = costUSD
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Where cached answers survive restarts (SQLite in `Storage`). Writes are async so a store can use
/// its own writer queue instead of blocking a cooperative thread; loading happens once, at start.
public protocol CachePersistence: Sendable {
    func save(_ records: [CacheRecord]) async throws
    func remove(keys: [String]) async throws
    func removeAll(namespace: String?) async throws
    /// Every record not expired at `now`.
    func load(now: Date) throws -> [CacheRecord]
}

/// A persistence that several gateways share (PostgreSQL behind replicas): after a local exact miss
/// the cache asks it for an answer another gateway stored. SQLite's store is not one, so a single
/// gateway's lookups never leave memory.
public protocol SharedCachePersistence: CachePersistence {
    /// The record stored under `key` if it has not expired at `now`; nil when there is none, or when
    /// the store cannot answer in time (a shared lookup is on the request path: one indexed read).
    func record(key: String, now: Date) async -> CacheRecord?
}
