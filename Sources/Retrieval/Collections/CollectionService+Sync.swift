import Foundation
import SwitchyardCore

extension CollectionService {
    /// Feed entries read per round trip.
    static let feedBatch = 5_000

    /// Catches up with writes other processes made to the database (`switchyard ingest` while the gateway runs,
    /// other replicas) and returns the names of the collections that changed.
    ///
    /// With a store that keeps a change feed (PostgreSQL, shared by replicas) only what changed is applied: a
    /// replaced or deleted document's chunks leave the indexes and its new ones enter them; a collection created,
    /// deleted or recreated elsewhere is opened or closed. Otherwise (SQLite) collections whose stored revision
    /// moved are reloaded whole, new ones opened, deleted ones closed.
    @discardableResult
    public func refresh() throws -> [String] {
        refreshLock.lock()
        defer { refreshLock.unlock() }
        guard let feed = persistence as? any RetrievalChangeFeed else { return try reloadChangedCollections() }
        guard var position = feedPosition.withLock({ $0 }) else { return try resynchronise(feed) }
        var changed: [String] = []
        while true {
            let batch = try feed.changes(after: position, limit: Self.feedBatch)
            guard batch.complete else {
                logger.warning("the change feed was pruned past this replica's position; reloading changed collections")
                return try resynchronise(feed)
            }
            guard !batch.changes.isEmpty else { break }
            for name in try apply(batch.changes, from: feed) where !changed.contains(name) { changed.append(name) }
            position = batch.position
            feedPosition.withLock { $0 = position }
            if batch.changes.count < Self.feedBatch { break }
        }
        return changed
    }

    /// Whole collections whose stored revision moved (and new and deleted ones).
    private func reloadChangedCollections() throws -> [String] {
        let stored = try persistence.loadCollections()
        var changed: [String] = []
        let current = open.withLock { $0 }
        for collection in stored {
            if let live = current[collection.name], live.catalog.withLock({ $0.revision }) == collection.revision { continue }
            let reloaded = try openCollection(collection)
            open.withLock { $0[collection.name] = reloaded }
            changed.append(collection.name)
        }
        let names = Set(stored.map(\.name))
        for name in current.keys where !names.contains(name) {
            open.withLock { $0[name] = nil }
            changed.append(name)
        }
        return changed
    }

    /// Reloads by revision, then follows the feed from its end as it was before the reload.
    private func resynchronise(_ feed: any RetrievalChangeFeed) throws -> [String] {
        let position = try feed.changePosition()
        let changed = try reloadChangedCollections()
        feedPosition.withLock { $0 = position }
        return changed
    }

    /// Applies one batch of feed entries, collection by collection.
    private func apply(_ changes: [RetrievalChangeRecord], from feed: any RetrievalChangeFeed) throws -> [String] {
        var order: [String] = []
        var itself: Set<String> = []
        var documents: [String: [String]] = [:]
        for change in changes {
            if documents[change.collection] == nil, !itself.contains(change.collection) { order.append(change.collection) }
            if let document = change.documentID {
                if documents[change.collection, default: []].last != document { documents[change.collection, default: []].append(document) }
            } else {
                itself.insert(change.collection)
            }
        }
        var storedCollections: [String: StoredCollection]?
        func stored(_ name: String) throws -> StoredCollection? {
            if storedCollections == nil {
                storedCollections = Dictionary(try persistence.loadCollections().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            }
            return storedCollections?[name]
        }
        var changed: [String] = []
        for name in order {
            let ids = Array(Set(documents[name] ?? []))
            let live = open.withLock { $0[name] }
            if let live, !itself.contains(name) {
                if try applyDocuments(ids, to: live, from: feed) { changed.append(name) }
                continue
            }
            // Created, deleted or recreated under the same name, or not open here yet.
            guard let current = try stored(name) else {
                if live != nil {
                    open.withLock { $0[name] = nil }
                    changed.append(name)
                }
                continue
            }
            if let live, Self.isSame(live, current) {
                // This replica's own creation (or one it already opened): only its documents.
                if try applyDocuments(ids, to: live, from: feed) { changed.append(name) }
                continue
            }
            let reopened = try openCollection(current)
            open.withLock { $0[name] = reopened }
            changed.append(name)
        }
        return changed
    }

    /// The same collection, not one deleted and created again under its name.
    private static func isSame(_ live: LiveCollection, _ stored: StoredCollection) -> Bool {
        live.embeddingModel == stored.embeddingModel && live.dimension == stored.dimension
            && abs(live.createdAt.timeIntervalSince(stored.createdAt)) < 0.001
    }

    /// Brings the named documents of one open collection to their stored state, under its write lock (so a local
    /// write cannot slip between the read and the update). True when anything changed.
    private func applyDocuments(_ ids: [String], to collection: LiveCollection, from feed: any RetrievalChangeFeed) throws -> Bool {
        guard !ids.isEmpty else { return false }
        collection.writeLock.lock()
        defer { collection.writeLock.unlock() }
        let before = collection.catalog.withLock { catalog in
            Dictionary(ids.compactMap { id in catalog.documents[id].map { (id, $0) } }, uniquingKeysWith: { first, _ in first })
        }
        // Gone: the next batch of the feed carries the deletion of the collection itself.
        guard let states = try feed.documentStates(ids, in: collection.name, knownChunkIDs: before.mapValues(\.chunkIDs)) else { return false }
        var removed: [Int64] = []
        var added: [StoredChunk] = []
        var updated: [String] = []
        for id in ids {
            let old = before[id]
            let new = states.documents[id]
            let oldChunks = old?.chunkIDs.sorted() ?? []
            let newChunks = states.chunkIDs[id] ?? []
            if old?.stored.contentHash == new?.contentHash, oldChunks == newChunks { continue }
            updated.append(id)
            guard oldChunks != newChunks else { continue }
            let kept = Set(newChunks)
            removed += oldChunks.filter { !kept.contains($0) }
            let had = Set(oldChunks)
            added += (states.chunks[id] ?? []).filter { !had.contains($0.id) }
        }
        guard !updated.isEmpty else {
            collection.catalog.withLock { $0.revision = max($0.revision, states.revision) }
            return false
        }
        // Removals leave the indexes before the catalog, additions enter the catalog before the indexes, so a
        // search never meets an id it cannot resolve.
        for id in removed {
            collection.vectors.remove(id: id)
            collection.keywords.remove(id: id)
        }
        var entries: [(Int64, LiveCollection.ChunkEntry)] = []
        collection.catalog.withLock { catalog in
            for id in removed { catalog.chunks[id] = nil }
            for id in updated {
                catalog.documents[id] = states.documents[id].map { .init(stored: $0, chunkIDs: states.chunkIDs[$0.id] ?? []) }
            }
            for chunk in added {
                let entry = LiveCollection.ChunkEntry(
                    documentID: chunk.documentID, position: chunk.position, text: chunk.text, headingPath: chunk.headingPath,
                    tokenCount: chunk.tokenCount, vector: chunk.vector)
                catalog.chunks[chunk.id] = entry
                entries.append((chunk.id, entry))
            }
            catalog.revision = max(catalog.revision, states.revision)
        }
        for (id, entry) in entries {
            do {
                try collection.vectors.insert(id: id, vector: entry.vector)
            } catch {
                logger.error("vector index insert failed", metadata: ["switchyard.collection": .string(collection.name), "error": "\(error)"])
            }
            collection.keywords.insert(id: id, text: LiveCollection.indexedText(entry, title: states.documents[entry.documentID]?.title))
        }
        logger.debug(
            "documents applied from the change feed",
            metadata: [
                "switchyard.collection": .string(collection.name), "switchyard.documents": "\(updated.count)",
                "switchyard.chunks_added": "\(added.count)", "switchyard.chunks_removed": "\(removed.count)",
            ])
        return true
    }
}
