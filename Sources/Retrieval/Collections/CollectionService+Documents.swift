import Foundation
import SwitchyardCore

/// What an upsert did.
public struct UpsertSummary: Sendable, Hashable {
    public var added = 0
    public var updated = 0
    /// Documents whose content hash matched what is stored: nothing was done for them.
    public var unchanged = 0
    public var chunks = 0
    /// Word-pieces (or the estimate) of the chunks written.
    public var tokens = 0
    /// Wall time spent waiting for the embedding model.
    public var embeddingSeconds = 0.0
    public init() {}
}

extension CollectionService {
    /// Adds or replaces documents by id: an unchanged document (same content hash) is skipped;
    /// a changed one loses all its old chunks from the database and both indexes.
    /// - Parameter saveIndex: write the HNSW file now (bulk ingestion saves once at the end).
    public func upsert(_ documents: [RetrievalDocument], into name: String, saveIndex: Bool = true) async throws -> UpsertSummary {
        let collection = try collection(name)
        var seen: Set<String> = []
        for (index, document) in documents.enumerated() {
            guard !document.id.isEmpty, document.id.count <= 512 else {
                throw SwitchyardError.invalidRequest("documents[\(index)].id must be 1-512 characters.", param: "documents[\(index)].id")
            }
            guard seen.insert(document.id).inserted else {
                throw SwitchyardError.invalidRequest(
                    "documents[\(index)].id '\(document.id)' appears twice in one request.", param: "documents[\(index)].id")
            }
        }
        let chunker = RecursiveChunker(
            options: settings.chunking, count: embedding.tokenCounter(collection.embeddingModel) ?? TokenEstimate.wordPieces)
        // Hashing and chunking a batch is milliseconds of CPU: off the caller's thread (an event loop).
        let (counted, pending) = try await BlockingWork.run {
            let hashes = documents.map(Self.contentHash)
            let known = collection.catalog.withLock { catalog in documents.map { catalog.documents[$0.id]?.stored.contentHash } }
            var summary = UpsertSummary()
            var pending: [(document: RetrievalDocument, hash: String, existed: Bool, chunks: [TextChunk])] = []
            for (index, document) in documents.enumerated() {
                if known[index] == hashes[index] {
                    summary.unchanged += 1
                    continue
                }
                pending.append((document, hashes[index], known[index] != nil, chunker.chunks(of: document.text, format: document.format, title: document.title)))
            }
            return (summary, pending)
        }
        var summary = counted
        guard !pending.isEmpty else { return summary }

        let texts = pending.flatMap { $0.chunks.map(\.indexedText) }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var start = 0
        let embeddingStarted = ContinuousClock.now
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + 256)])
            let embedded = try await embedding.embed(collection.embeddingModel, batch)
            guard embedded.count == batch.count, embedded.allSatisfy({ $0.count == collection.dimension }) else {
                throw SwitchyardError(
                    code: .badUpstreamResponse,
                    message: "The embedding model '\(collection.embeddingModel)' returned vectors of the wrong count or dimension (collection '\(name)' has \(collection.dimension)).",
                    status: 502)
            }
            vectors += embedded
            start += batch.count
        }
        let elapsed = ContinuousClock.now - embeddingStarted
        summary.embeddingSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        // The database write, the index inserts and the index file block: off the caller's thread.
        let items = pending.map { ($0.document, $0.hash, $0.existed, $0.chunks) }
        let embeddedSummary = summary
        let embedded = vectors
        return try await BlockingWork.run {
            var summary = embeddedSummary
            try self.commit(items, vectors: embedded, to: collection, summary: &summary, saveIndex: saveIndex)
            return summary
        }
    }

    /// The write itself, under the collection's write lock: database first, then the indexes.
    private func commit(
        _ pending: [(document: RetrievalDocument, hash: String, existed: Bool, chunks: [TextChunk])], vectors: [[Float]],
        to collection: LiveCollection, summary: inout UpsertSummary, saveIndex: Bool
    ) throws {
        collection.writeLock.lock()
        defer { collection.writeLock.unlock() }
        var writes: [(document: StoredDocument, chunks: [StoredChunk])] = []
        var offset = 0
        let current = collection.catalog.withLock { catalog in pending.map { catalog.documents[$0.document.id]?.stored.contentHash } }
        for (index, item) in pending.enumerated() {
            defer { offset += item.chunks.count }
            if current[index] == item.hash {  // another writer stored the same content meanwhile
                summary.unchanged += 1
                continue
            }
            let document = item.document
            let stored = StoredDocument(
                id: document.id, title: document.title, source: document.source, metadata: document.metadata, allowed: document.allowed,
                contentHash: item.hash)
            let chunks = item.chunks.enumerated().map { position, chunk in
                StoredChunk(
                    documentID: document.id, position: position, text: chunk.text, headingPath: chunk.headingPath, tokenCount: chunk.tokenCount,
                    vector: vectors[offset + position])
            }
            writes.append((stored, chunks))
            if item.existed { summary.updated += 1 } else { summary.added += 1 }
            summary.chunks += chunks.count
            summary.tokens += chunks.reduce(0) { $0 + $1.tokenCount }
        }
        guard !writes.isEmpty else { return }
        let change = try persistence.replace(writes, in: collection.name)
        apply(change, to: collection, documents: writes.map(\.document))
        if saveIndex { try self.saveIndex(collection, force: false) }
    }

    /// Deletes a document from the database and both indexes; false when it did not exist.
    /// - Parameter saveIndex: write the HNSW file now (bulk deletes save once at the end).
    @discardableResult
    public func deleteDocument(_ id: String, from name: String, saveIndex: Bool = true) throws -> Bool {
        let collection = try collection(name)
        collection.writeLock.lock()
        defer { collection.writeLock.unlock() }
        guard let change = try persistence.deleteDocument(id, in: name) else { return false }
        for chunkID in change.removed {
            collection.vectors.remove(id: chunkID)
            collection.keywords.remove(id: chunkID)
        }
        collection.catalog.withLock { catalog in
            for chunkID in change.removed { catalog.chunks[chunkID] = nil }
            catalog.documents[id] = nil
            catalog.revision = change.revision
        }
        if saveIndex { try self.saveIndex(collection, force: false) }
        return true
    }

    /// The ids of a collection's documents, sorted (for listing and tests).
    public func documentIDs(in name: String) throws -> [String] {
        try collection(name).catalog.withLock { $0.documents.keys.sorted() }
    }

    /// Applies a stored change to memory and the indexes: removals leave the indexes before the
    /// catalog, additions enter the catalog before the indexes, so a search never meets an id it cannot resolve.
    private func apply(_ change: StoredChange, to collection: LiveCollection, documents: [StoredDocument]) {
        for chunkID in change.removed {
            collection.vectors.remove(id: chunkID)
            collection.keywords.remove(id: chunkID)
        }
        var entries: [(Int64, LiveCollection.ChunkEntry)] = []
        collection.catalog.withLock { catalog in
            for chunkID in change.removed { catalog.chunks[chunkID] = nil }
            for document in documents { catalog.documents[document.id] = .init(stored: document, chunkIDs: []) }
            for chunk in change.inserted {
                let entry = LiveCollection.ChunkEntry(
                    documentID: chunk.documentID, position: chunk.position, text: chunk.text, headingPath: chunk.headingPath,
                    tokenCount: chunk.tokenCount, vector: chunk.vector)
                catalog.chunks[chunk.id] = entry
                catalog.documents[chunk.documentID]?.chunkIDs.append(chunk.id)
                entries.append((chunk.id, entry))
            }
            catalog.revision = change.revision
        }
        let titles = Dictionary(documents.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
        for (id, entry) in entries {
            do {
                try collection.vectors.insert(id: id, vector: entry.vector)
            } catch {
                logger.error("vector index insert failed", metadata: ["switchyard.collection": .string(collection.name), "error": "\(error)"])
            }
            collection.keywords.insert(id: id, text: LiveCollection.indexedText(entry, title: titles[entry.documentID] ?? nil))
        }
    }

    /// A hash of everything an upsert stores, so an unchanged document is recognised (FNV-1a,
    /// 2×64 bits: change detection, not a security boundary).
    static func contentHash(_ document: RetrievalDocument) -> String {
        var parts: [String] = [document.text, document.title ?? "\u{0}", document.source ?? "\u{0}", document.format.rawValue]
        parts.append((document.allowed?.sorted().joined(separator: "\u{1}")) ?? "\u{0}")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        parts.append((try? encoder.encode(document.metadata)).map { String(decoding: $0, as: UTF8.self) } ?? "")
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x8422_2325_cbf2_9ce4
        for part in parts {
            for byte in part.utf8 + [0xFF] {
                first = (first ^ UInt64(byte)) &* 0x100_0000_01b3
                second = (second ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37_79b9
            }
        }
        return String(first, radix: 16) + String(second, radix: 16)
    }
}
