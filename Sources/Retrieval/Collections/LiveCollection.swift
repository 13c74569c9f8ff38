import Foundation
import SwitchyardCore
import Synchronization

/// One open collection: its two indexes and, in memory, what filters and results need to know
/// about every chunk (the database stays the source of truth).
final class LiveCollection: Sendable {
    struct DocumentEntry: Sendable {
        var stored: StoredDocument
        var chunkIDs: [Int64]
    }

    struct ChunkEntry: Sendable {
        var documentID: String
        var position: Int
        var text: String
        var headingPath: [String]
        var tokenCount: Int
        var vector: [Float]
    }

    /// Copied whole for each search (copy-on-write, so a copy is free until the next write).
    struct Catalog: Sendable {
        var revision: Int64
        var documents: [String: DocumentEntry] = [:]
        var chunks: [Int64: ChunkEntry] = [:]
    }

    let name: String
    let embeddingModel: String
    let dimension: Int
    let createdAt: Date
    let vectors: any VectorIndex
    let keywords: any KeywordIndex
    let catalog: Mutex<Catalog>
    /// Serialises writers (the persistence transaction and the index updates stay in one order).
    let writeLock = NSLock()

    init(stored: StoredCollection, vectors: any VectorIndex, keywords: any KeywordIndex, catalog: Catalog) {
        self.name = stored.name
        self.embeddingModel = stored.embeddingModel
        self.dimension = stored.dimension
        self.createdAt = stored.createdAt
        self.vectors = vectors
        self.keywords = keywords
        self.catalog = Mutex(catalog)
    }

    func snapshot() -> Catalog { catalog.withLock { $0 } }

    /// What the keyword index and the embedder see for a chunk: title and headings, then text.
    static func indexedText(_ chunk: ChunkEntry, title: String?) -> String {
        TextChunk.context(title: title, headingPath: chunk.headingPath).map { $0 + "\n" + chunk.text } ?? chunk.text
    }

    /// The value of a filter field for a chunk: built-ins first, then the document's own metadata.
    static func field(_ name: String, chunk: ChunkEntry, document: StoredDocument) -> JSONValue? {
        switch name {
        case "document_id", "id": return .string(document.id)
        case "source": return document.source.map { .string($0) } ?? document.metadata["source"]
        case "title": return document.title.map { .string($0) } ?? document.metadata["title"]
        case "section": return chunk.headingPath.last.map { .string($0) } ?? document.metadata["section"]
        case "headings": return .array(chunk.headingPath.map { .string($0) })
        default: return document.metadata[name]
        }
    }
}

extension TextChunk {
    /// The title and headings line, without repeating a title that is also the first heading.
    static func context(title: String?, headingPath: [String]) -> String? {
        var parts = headingPath
        if let title, !title.isEmpty, parts.first != title { parts.insert(title, at: 0) }
        return parts.isEmpty ? nil : parts.joined(separator: " › ")
    }
}
