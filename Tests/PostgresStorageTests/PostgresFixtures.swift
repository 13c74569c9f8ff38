import Foundation
import Logging
import PostgresStorage
import SwitchyardCore
import Testing

@testable import Retrieval

/// One replica's view of a test database: its own pool (as a separate process would have).
func replicaDatabase(_ url: PostgresURL) -> PostgresDatabase {
    var logger = Logger(label: "test-postgres")
    logger.logLevel = .warning
    let database = PostgresDatabase(url: url, maximumConnections: 4, logger: logger)
    database.start()
    return database
}

/// Words hashed into 16 dimensions, unit length: deterministic, no model needed, and texts that share words
/// are near each other.
let hashedEmbedding = EmbeddingAccess(embed: { _, texts in texts.map(hashedVector) })

func hashedVector(_ text: String) -> [Float] {
    var vector = [Float](repeating: 0, count: 16)
    for word in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        vector[Int(hash % 16)] += 1
    }
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? vector.map { $0 / norm } : [1] + [Float](repeating: 0, count: 15)
}

/// A collection service over a store, loaded, indexes in memory only (as replicas run).
func collectionService(_ persistence: any RetrievalPersistence) async throws -> CollectionService {
    var logger = Logger(label: "test-retrieval")
    logger.logLevel = .warning
    let service = CollectionService(persistence: persistence, indexDirectory: nil, indexes: .standard, embedding: hashedEmbedding, logger: logger)
    try await BlockingWork.run { try service.load() }
    return service
}

extension CollectionService {
    /// The ids of the documents a keyword search finds, best first.
    func keywordHits(_ query: String, in collection: String) async throws -> [String] {
        try await search(SearchOptions(query: query, topK: 20, mode: .bm25), in: collection, access: .all).map(\.hit.documentID)
    }

    /// The ids of the documents a vector search finds among the 3 nearest.
    func denseHits(_ query: String, in collection: String) async throws -> [String] {
        try await search(SearchOptions(query: query, topK: 3, mode: .dense), in: collection, access: .all).map(\.hit.documentID)
    }

    func refreshed() async throws -> [String] {
        try await BlockingWork.run { try self.refresh() }
    }

    /// The open collection object (the same object before and after a refresh = not reloaded).
    func liveCollection(_ name: String) -> LiveCollection? { open.withLock { $0[name] } }
}

/// Chunks as a store receives them.
func storedChunks(_ document: String, _ texts: [String]) -> [StoredChunk] {
    texts.enumerated().map { position, text in
        StoredChunk(documentID: document, position: position, text: text, headingPath: ["Guide", "Part \(position)"], tokenCount: text.count / 4 + 1,
                    vector: hashedVector(text))
    }
}
