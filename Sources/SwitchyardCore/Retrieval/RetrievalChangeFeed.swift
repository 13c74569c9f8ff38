import Foundation

/// One entry of a shared store's change feed, written in the same transaction as the change: a collection
/// created or deleted (`documentID` nil), or one document replaced or deleted.
public struct RetrievalChangeRecord: Sendable, Hashable {
    public var sequence: Int64
    public var collection: String
    public var documentID: String?

    public init(sequence: Int64, collection: String, documentID: String?) {
        self.sequence = sequence
        self.collection = collection
        self.documentID = documentID
    }
}

/// Changes read from the feed, in the order they were committed.
public struct RetrievalChangeBatch: Sendable, Hashable {
    public var changes: [RetrievalChangeRecord]
    /// Where the next read starts: the last change's sequence (the position read from when there was none).
    public var position: Int64
    /// False when entries after the position read from were pruned: the reader has missed changes and must
    /// reload every collection.
    public var complete: Bool

    public init(changes: [RetrievalChangeRecord], position: Int64, complete: Bool) {
        self.changes = changes
        self.position = position
        self.complete = complete
    }
}

/// Some documents of a collection as stored now, read in one snapshot.
public struct RetrievalDocumentStates: Sendable, Hashable {
    /// The collection's revision in that snapshot.
    public var revision: Int64
    /// The documents that exist, by id (an id asked for and missing here was deleted).
    public var documents: [String: StoredDocument]
    /// Each existing document's chunk ids, ascending.
    public var chunkIDs: [String: [Int64]]
    /// The chunks, by document, of those documents whose chunk ids differ from what the reader said it holds.
    public var chunks: [String: [StoredChunk]]

    public init(revision: Int64, documents: [String: StoredDocument], chunkIDs: [String: [Int64]], chunks: [String: [StoredChunk]]) {
        self.revision = revision
        self.documents = documents
        self.chunkIDs = chunkIDs
        self.chunks = chunks
    }
}

/// A retrieval store several gateway processes share (PostgreSQL): besides the rows, an ordered feed of what
/// changed, so each process applies other processes' writes to its in-memory indexes document by document
/// instead of reloading whole collections.
public protocol RetrievalChangeFeed: RetrievalPersistence {
    /// The feed's end now: a load done after reading it reflects every change up to it.
    func changePosition() throws -> Int64
    /// Up to `limit` changes after `position`, oldest first.
    func changes(after position: Int64, limit: Int) throws -> RetrievalChangeBatch
    /// The named documents of `collection` as stored now; nil when the collection does not exist. Chunks are
    /// sent only for documents whose chunk ids differ from `knownChunkIDs` (what the reader holds).
    func documentStates(_ ids: [String], in collection: String, knownChunkIDs: [String: [Int64]]) throws -> RetrievalDocumentStates?
}
