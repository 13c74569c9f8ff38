import Foundation

/// A collection as stored: its embedding model and a revision that every write bumps (the index
/// files beside the database record the revision they were saved at, to tell when they are stale).
public struct StoredCollection: Sendable, Hashable {
    public var name: String
    public var embeddingModel: String
    public var dimension: Int
    public var createdAt: Date
    public var revision: Int64

    public init(name: String, embeddingModel: String, dimension: Int, createdAt: Date = Date(), revision: Int64 = 0) {
        self.name = name
        self.embeddingModel = embeddingModel
        self.dimension = dimension
        self.createdAt = createdAt
        self.revision = revision
    }
}

/// A document as stored (its text lives in its chunks).
public struct StoredDocument: Sendable, Hashable {
    public var id: String
    public var title: String?
    public var source: String?
    /// Custom fields, filterable.
    public var metadata: [String: JSONValue]
    /// Groups that may see the document; nil = public.
    public var allowed: [String]?
    /// SHA-256 of what was ingested (text, title, metadata, allowed): an unchanged re-ingest is a no-op.
    public var contentHash: String
    public var updatedAt: Date

    public init(
        id: String, title: String? = nil, source: String? = nil, metadata: [String: JSONValue] = [:], allowed: [String]? = nil,
        contentHash: String, updatedAt: Date = Date()
    ) {
        self.id = id
        self.title = title
        self.source = source
        self.metadata = metadata
        self.allowed = allowed
        self.contentHash = contentHash
        self.updatedAt = updatedAt
    }
}

/// One chunk of a document with its embedding; `id` is the key every index uses (0 before it is stored).
public struct StoredChunk: Sendable, Hashable {
    public var id: Int64
    public var documentID: String
    public var position: Int
    public var text: String
    public var headingPath: [String]
    public var tokenCount: Int
    public var vector: [Float]

    public init(
        id: Int64 = 0, documentID: String, position: Int, text: String, headingPath: [String], tokenCount: Int, vector: [Float]
    ) {
        self.id = id
        self.documentID = documentID
        self.position = position
        self.text = text
        self.headingPath = headingPath
        self.tokenCount = tokenCount
        self.vector = vector
    }
}

/// What one write did to the stored chunks.
public struct StoredChange: Sendable, Hashable {
    /// Chunks written, with their new ids, in the order given.
    public var inserted: [StoredChunk]
    /// Ids of the chunks that were replaced or deleted.
    public var removed: [Int64]
    /// The collection's revision after the write.
    public var revision: Int64

    public init(inserted: [StoredChunk], removed: [Int64], revision: Int64) {
        self.inserted = inserted
        self.removed = removed
        self.revision = revision
    }
}

/// Where collections, documents and chunks live (SQLite in `Storage`; memory for `:memory:` setups).
/// Every write is one transaction.
public protocol RetrievalPersistence: Sendable {
    func loadCollections() throws -> [StoredCollection]
    /// Throws when the name is taken.
    func createCollection(_ collection: StoredCollection) throws
    /// Deletes the collection with its documents and chunks; false when there was none.
    func deleteCollection(named name: String) throws -> Bool
    func documents(in collection: String) throws -> [StoredDocument]
    func chunks(in collection: String) throws -> [StoredChunk]
    /// Replaces each document and all its chunks.
    func replace(_ documents: [(document: StoredDocument, chunks: [StoredChunk])], in collection: String) throws -> StoredChange
    /// Deletes a document and its chunks; nil when there was no such document.
    func deleteDocument(_ id: String, in collection: String) throws -> StoredChange?
}
