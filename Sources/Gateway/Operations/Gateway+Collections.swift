import Foundation
import Retrieval
import SwitchyardCore

/// Retrieval types the HTTP edge names: the surface is the Gateway's, not the `Retrieval` module's.
public typealias CollectionInfo = Retrieval.CollectionInfo
public typealias RetrievalDocument = Retrieval.RetrievalDocument
public typealias TextFormat = Retrieval.TextFormat
public typealias SearchOptions = Retrieval.SearchOptions
public typealias SearchResult = Retrieval.SearchResult
public typealias UpsertSummary = Retrieval.UpsertSummary
public typealias RerankSettings = Retrieval.RerankSettings

/// Collections as the HTTP API and MCP see them: every operation takes the caller, and whatever
/// blocks (SQLite, index files) runs off the event loops.
extension Gateway {
    public func createCollection(name: String, embeddingModel: String?, caller: Caller) async throws -> CollectionInfo {
        let info = try await collections.createCollection(name: name, embeddingModel: embeddingModel)
        await audit(caller, "collection.create", target: name, details: ["embedding_model": .string(info.embeddingModel)])
        return info
    }

    public func listCollections(caller: Caller) -> [CollectionInfo] {
        collections.listCollections()
    }

    public func describeCollection(_ name: String, caller: Caller) throws -> CollectionInfo {
        try collections.describe(name)
    }

    public func deleteCollection(_ name: String, caller: Caller) async throws {
        let collections = self.collections
        try await BlockingWork.run { try collections.deleteCollection(name) }
        await audit(caller, "collection.delete", target: name)
    }

    public func upsertDocuments(_ documents: [RetrievalDocument], into collection: String, caller: Caller) async throws -> UpsertSummary {
        try await collections.upsert(documents, into: collection)
    }

    /// False when the collection had no such document.
    public func deleteDocument(_ id: String, from collection: String, caller: Caller) async throws -> Bool {
        let collections = self.collections
        return try await BlockingWork.run { try collections.deleteDocument(id, from: collection) }
    }

    /// Searches under the caller's access scope (documents restricted to groups it is not in are never seen).
    public func searchCollection(_ options: SearchOptions, in collection: String, caller: Caller) async throws -> [SearchResult] {
        try await collections.search(options, in: collection, access: accessScope(for: caller))
    }

    /// The rerank stage a search with `options` runs on `collection`: its configured setting with
    /// the request's overrides.
    public func rerankSettings(for collection: String, options: SearchOptions) -> RerankSettings {
        collections.rerankSettings(for: collection).applying(options.rerank)
    }
}
