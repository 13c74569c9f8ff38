import Foundation
import SwitchyardCore
import Synchronization

/// Collections kept in memory only, for gateways with `storage.sqlite: ":memory:"` and for tests.
public final class InMemoryRetrievalPersistence: RetrievalPersistence {
    private struct State {
        var collections: [String: StoredCollection] = [:]
        var documents: [String: [String: StoredDocument]] = [:]
        var chunks: [String: [Int64: StoredChunk]] = [:]
        var nextChunkID: Int64 = 1
    }

    private let state = Mutex(State())

    public init() {}

    public func loadCollections() throws -> [StoredCollection] {
        state.withLock { $0.collections.values.sorted { $0.name < $1.name } }
    }

    public func createCollection(_ collection: StoredCollection) throws {
        try state.withLock { state throws(SwitchyardError) in
            guard state.collections[collection.name] == nil else {
                throw SwitchyardError(code: .invalidRequest, message: "A collection named '\(collection.name)' already exists.", status: 409, param: "name")
            }
            state.collections[collection.name] = collection
            state.documents[collection.name] = [:]
            state.chunks[collection.name] = [:]
        }
    }

    public func deleteCollection(named name: String) throws -> Bool {
        state.withLock { state in
            let existed = state.collections.removeValue(forKey: name) != nil
            state.documents[name] = nil
            state.chunks[name] = nil
            return existed
        }
    }

    public func documents(in collection: String) throws -> [StoredDocument] {
        state.withLock { Array(($0.documents[collection] ?? [:]).values) }
    }

    public func chunks(in collection: String) throws -> [StoredChunk] {
        state.withLock { ($0.chunks[collection] ?? [:]).values.sorted { $0.id < $1.id } }
    }

    public func replace(_ documents: [(document: StoredDocument, chunks: [StoredChunk])], in collection: String) throws -> StoredChange {
        state.withLock { state in
            var removed: [Int64] = []
            var inserted: [StoredChunk] = []
            for (document, chunks) in documents {
                for (id, chunk) in state.chunks[collection] ?? [:] where chunk.documentID == document.id {
                    removed.append(id)
                    state.chunks[collection]?[id] = nil
                }
                state.documents[collection, default: [:]][document.id] = document
                for var chunk in chunks {
                    chunk.id = state.nextChunkID
                    state.nextChunkID += 1
                    state.chunks[collection, default: [:]][chunk.id] = chunk
                    inserted.append(chunk)
                }
            }
            state.collections[collection]?.revision += 1
            return StoredChange(inserted: inserted, removed: removed, revision: state.collections[collection]?.revision ?? 0)
        }
    }

    public func deleteDocument(_ id: String, in collection: String) throws -> StoredChange? {
        state.withLock { state in
            guard state.documents[collection]?.removeValue(forKey: id) != nil else { return nil }
            var removed: [Int64] = []
            for (chunkID, chunk) in state.chunks[collection] ?? [:] where chunk.documentID == id {
                removed.append(chunkID)
                state.chunks[collection]?[chunkID] = nil
            }
            state.collections[collection]?.revision += 1
            return StoredChange(inserted: [], removed: removed, revision: state.collections[collection]?.revision ?? 0)
        }
    }
}
