import Foundation
import Logging
import NIOCore
import PostgresNIO
import SwitchyardCore
import Synchronization

/// Collections, documents and chunks (vectors as `BYTEA`) in the PostgreSQL database every replica shares, with
/// the SQLite store's behaviour (each write one transaction, the same refusals) plus a change feed: every write
/// appends what it touched to `retrieval_change` in the same transaction, so each replica's
/// `CollectionService.refresh()` applies other replicas' writes document by document.
///
/// Feed entries are numbered in commit order: a writer takes a transaction-scoped advisory lock just before it
/// appends its entries, so a number is handed out only after every smaller one has committed (or rolled back),
/// and a reader that saw entry N has seen every entry before it.
public final class PostgresRetrievalStore: RetrievalChangeFeed {
    let database: PostgresDatabase
    /// How long feed entries are kept: a replica further behind than this reloads every collection.
    let feedRetention: Duration
    private let lastPrune = Mutex<ContinuousClock.Instant?>(nil)

    /// Applies the store's migrations (blocking: call it off the event loops).
    public init(database: PostgresDatabase, feedRetention: Duration = .seconds(3600)) throws {
        self.database = database
        self.feedRetention = feedRetention
        try database.migrate(store: "retrieval", Self.migrations)
    }

    static let migrations = [
        """
        CREATE TABLE retrieval_collection (
            name TEXT PRIMARY KEY, embedding_model TEXT NOT NULL, dimension BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, revision BIGINT NOT NULL DEFAULT 0)
        """,
        """
        CREATE TABLE retrieval_document (
            collection TEXT NOT NULL REFERENCES retrieval_collection (name) ON DELETE CASCADE, id TEXT NOT NULL,
            title TEXT, source TEXT, metadata TEXT NOT NULL, allowed TEXT, content_hash TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (collection, id))
        """,
        """
        CREATE TABLE retrieval_chunk (
            id BIGSERIAL PRIMARY KEY, collection TEXT NOT NULL, document_id TEXT NOT NULL, position BIGINT NOT NULL,
            text TEXT NOT NULL, heading_path TEXT NOT NULL, token_count BIGINT NOT NULL, vector BYTEA NOT NULL,
            FOREIGN KEY (collection, document_id) REFERENCES retrieval_document (collection, id) ON DELETE CASCADE)
        """,
        "CREATE INDEX retrieval_chunk_document ON retrieval_chunk (collection, document_id)",
        """
        CREATE TABLE retrieval_change (
            sequence BIGSERIAL PRIMARY KEY, collection TEXT NOT NULL, document_id TEXT,
            recorded_at TIMESTAMPTZ NOT NULL DEFAULT now())
        """,
        "CREATE TABLE retrieval_feed (id INTEGER PRIMARY KEY CHECK (id = 1), pruned_through BIGINT NOT NULL)",
        "INSERT INTO retrieval_feed (id, pruned_through) VALUES (1, 0)",
    ]

    /// The advisory-lock key feed writers hold while they append ('SWYR').
    static let feedLock: Int64 = 0x5357_5952
    /// Chunks inserted per statement.
    static let chunkBatch = 1_000

    var logger: Logger { database.logger }

    // MARK: RetrievalPersistence

    public func loadCollections() throws -> [StoredCollection] {
        let logger = logger
        return try database.blocking { client in
            try await client.query(
                "SELECT name, embedding_model, dimension, created_at, revision FROM retrieval_collection ORDER BY name", logger: logger
            ).decode((String, String, Int, Double, Int64).self).all().map { name, model, dimension, created, revision in
                StoredCollection(
                    name: name, embeddingModel: model, dimension: dimension, createdAt: Date(timeIntervalSince1970: created), revision: revision)
            }
        }
    }

    public func createCollection(_ collection: StoredCollection) throws {
        try StorableText.check(collection.name, "The collection name", param: "name")
        try StorableText.check(collection.embeddingModel, "The embedding model", param: "embedding_model")
        let logger = logger
        try database.blockingTransaction { connection in
            let created = try await connection.query(
                """
                INSERT INTO retrieval_collection (name, embedding_model, dimension, created_at, revision)
                VALUES (\(collection.name), \(collection.embeddingModel), \(collection.dimension), \(collection.createdAt.timeIntervalSince1970),
                    \(collection.revision))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, logger: logger
            ).collect()
            guard !created.isEmpty else {
                throw SwitchyardError(
                    code: .invalidRequest, message: "A collection named '\(collection.name)' already exists.", status: 409, param: "name")
            }
            try await Self.recordChanges(collection: collection.name, documents: nil, connection, logger: logger)
        }
    }

    public func deleteCollection(named name: String) throws -> Bool {
        let logger = logger
        return try database.blockingTransaction { connection in
            // Documents and chunks go with it (ON DELETE CASCADE).
            let deleted = try await connection.query("DELETE FROM retrieval_collection WHERE name = \(name) RETURNING name", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await Self.recordChanges(collection: name, documents: nil, connection, logger: logger)
            return true
        }
    }

    public func documents(in collection: String) throws -> [StoredDocument] {
        let logger = logger
        return try database.blocking { client in
            try await client.withConnection { connection in
                try await Self.documents(in: collection, ids: nil, connection, logger: logger)
            }
        }
    }

    public func chunks(in collection: String) throws -> [StoredChunk] {
        let logger = logger
        return try database.blocking { client in
            try await client.withConnection { connection in
                try await Self.chunks(in: collection, documentIDs: nil, connection, logger: logger)
            }
        }
    }

    public func replace(_ documents: [(document: StoredDocument, chunks: [StoredChunk])], in collection: String) throws -> StoredChange {
        let rows = try documents.map(EncodedDocument.init)
        let logger = logger
        return try database.blockingTransaction { connection in
            guard try await Self.lockCollection(collection, connection, logger: logger) else { throw Self.noCollection(collection) }
            var removed: [Int64] = []
            var inserted: [StoredChunk] = []
            let ids = rows.map(\.document.id)
            // Distinct documents (what ingestion sends): one statement removes every old chunk and chunks are inserted
            // a thousand at a time across documents. A document named twice is replaced twice, in order.
            let distinct = Set(ids).count == ids.count
            if distinct {
                var old: [String: [Int64]] = [:]
                for (document, chunk) in try await connection.query(
                    "DELETE FROM retrieval_chunk WHERE collection = \(collection) AND document_id = ANY(\(ids)) RETURNING document_id, id",
                    logger: logger
                ).decode((String, Int64).self).all() {
                    old[document, default: []].append(chunk)
                }
                removed = ids.flatMap { (old[$0] ?? []).sorted() }
            }
            for row in rows {
                let document = row.document
                if !distinct {
                    removed += try await connection.query(
                        "DELETE FROM retrieval_chunk WHERE collection = \(collection) AND document_id = \(document.id) RETURNING id", logger: logger
                    ).decode(Int64.self).all().sorted()
                }
                try await connection.execute(
                    """
                    INSERT INTO retrieval_document (collection, id, title, source, metadata, allowed, content_hash, updated_at)
                    VALUES (\(collection), \(document.id), \(document.title), \(document.source), \(row.metadata), \(row.allowed),
                        \(document.contentHash), \(document.updatedAt.timeIntervalSince1970))
                    ON CONFLICT (collection, id) DO UPDATE SET title = EXCLUDED.title, source = EXCLUDED.source,
                        metadata = EXCLUDED.metadata, allowed = EXCLUDED.allowed, content_hash = EXCLUDED.content_hash,
                        updated_at = EXCLUDED.updated_at
                    """, logger: logger)
                if !distinct { inserted += try await Self.insertChunks(row.chunks, collection: collection, connection, logger: logger) }
            }
            if distinct { inserted = try await Self.insertChunks(rows.flatMap(\.chunks), collection: collection, connection, logger: logger) }
            let revision = try await Self.bump(collection, connection, logger: logger)
            try await Self.recordChanges(collection: collection, documents: rows.map(\.document.id), connection, logger: logger)
            return StoredChange(inserted: inserted, removed: removed, revision: revision)
        }
    }

    public func deleteDocument(_ id: String, in collection: String) throws -> StoredChange? {
        let logger = logger
        return try database.blockingTransaction { connection -> StoredChange? in
            guard try await Self.lockCollection(collection, connection, logger: logger) else { return nil }
            let removed = try await connection.query(
                "DELETE FROM retrieval_chunk WHERE collection = \(collection) AND document_id = \(id) RETURNING id", logger: logger
            ).decode(Int64.self).all().sorted()
            let deleted = try await connection.query(
                "DELETE FROM retrieval_document WHERE collection = \(collection) AND id = \(id) RETURNING id", logger: logger
            ).collect()
            guard !deleted.isEmpty else { return nil }
            let revision = try await Self.bump(collection, connection, logger: logger)
            try await Self.recordChanges(collection: collection, documents: [id], connection, logger: logger)
            return StoredChange(inserted: [], removed: removed, revision: revision)
        }
    }

    // MARK: RetrievalChangeFeed

    public func changePosition() throws -> Int64 {
        let logger = logger
        return try database.blocking { client in
            try await client.query(
                "SELECT coalesce((SELECT max(sequence) FROM retrieval_change), (SELECT pruned_through FROM retrieval_feed), 0)", logger: logger
            ).decode(Int64.self).all().first ?? 0
        }
    }

    public func changes(after position: Int64, limit: Int) throws -> RetrievalChangeBatch {
        try pruneIfDue()
        let logger = logger
        let limit = max(1, limit)
        return try database.blockingTransaction(readOnly: true) { connection in
            let pruned = try await connection.query("SELECT pruned_through FROM retrieval_feed", logger: logger).decode(Int64.self).all().first ?? 0
            let changes = try await connection.query(
                """
                SELECT sequence, collection, document_id FROM retrieval_change WHERE sequence > \(position)
                ORDER BY sequence LIMIT \(limit)
                """, logger: logger
            ).decode((Int64, String, String?).self).all().map { RetrievalChangeRecord(sequence: $0, collection: $1, documentID: $2) }
            return RetrievalChangeBatch(changes: changes, position: changes.last?.sequence ?? position, complete: position >= pruned)
        }
    }

    public func documentStates(_ ids: [String], in collection: String, knownChunkIDs: [String: [Int64]]) throws -> RetrievalDocumentStates? {
        let logger = logger
        return try database.blockingTransaction(readOnly: true) { connection -> RetrievalDocumentStates? in
            guard let revision = try await connection.query(
                "SELECT revision FROM retrieval_collection WHERE name = \(collection)", logger: logger
            ).decode(Int64.self).all().first else { return nil }
            let documents = try await Self.documents(in: collection, ids: ids, connection, logger: logger)
            var chunkIDs: [String: [Int64]] = [:]
            for (document, chunk) in try await connection.query(
                "SELECT document_id, id FROM retrieval_chunk WHERE collection = \(collection) AND document_id = ANY(\(ids)) ORDER BY id",
                logger: logger
            ).decode((String, Int64).self).all() {
                chunkIDs[document, default: []].append(chunk)
            }
            for document in documents where chunkIDs[document.id] == nil { chunkIDs[document.id] = [] }
            let differing = documents.map(\.id).filter { chunkIDs[$0] != knownChunkIDs[$0]?.sorted() }
            var chunks: [String: [StoredChunk]] = [:]
            if !differing.isEmpty {
                for chunk in try await Self.chunks(in: collection, documentIDs: differing, connection, logger: logger) {
                    chunks[chunk.documentID, default: []].append(chunk)
                }
            }
            return RetrievalDocumentStates(
                revision: revision, documents: Dictionary(documents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }),
                chunkIDs: chunkIDs, chunks: chunks)
        }
    }

    /// Drops feed entries older than `feedRetention`, at most once a minute per process.
    private func pruneIfDue() throws {
        let now = ContinuousClock.now
        let due = lastPrune.withLock { last in
            if let last, now - last < .seconds(60) { return false }
            last = now
            return true
        }
        guard due else { return }
        let seconds = Double(feedRetention.components.seconds) + Double(feedRetention.components.attoseconds) / 1e18
        let logger = logger
        try database.blockingTransaction { connection in
            try await connection.execute(
                """
                WITH gone AS (
                    DELETE FROM retrieval_change WHERE recorded_at < now() - make_interval(secs => \(seconds)) RETURNING sequence)
                UPDATE retrieval_feed SET pruned_through = greatest(pruned_through, (SELECT max(sequence) FROM gone))
                WHERE EXISTS (SELECT 1 FROM gone)
                """, logger: logger)
        }
    }

    // MARK: Statements

    /// Locks the collection's row for the rest of the transaction (writers of one collection queue here, in one
    /// order, so two replicas replacing the same documents cannot deadlock); false when there is none.
    static func lockCollection(_ name: String, _ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await !connection.query("SELECT 1 FROM retrieval_collection WHERE name = \(name) FOR UPDATE", logger: logger).collect().isEmpty
    }

    static func noCollection(_ name: String) -> SwitchyardError {
        SwitchyardError(code: .notFound, message: "No collection named \(StorableText.quoted(name)).", status: 404, param: "collection")
    }

    static func bump(_ collection: String, _ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await connection.query(
            "UPDATE retrieval_collection SET revision = revision + 1 WHERE name = \(collection) RETURNING revision", logger: logger
        ).decode(Int64.self).all().first ?? 0
    }

    /// Appends the feed entries of a write, last in its transaction: the advisory lock keeps numbers in commit
    /// order and is held only from here to the commit. `documents` nil: the collection itself was created or deleted.
    static func recordChanges(collection: String, documents: [String]?, _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute("SELECT pg_advisory_xact_lock(\(feedLock))", logger: logger)
        if let documents {
            try await connection.execute(
                "INSERT INTO retrieval_change (collection, document_id) SELECT \(collection), unnest(\(documents)::text[])", logger: logger)
        } else {
            try await connection.execute("INSERT INTO retrieval_change (collection, document_id) VALUES (\(collection), NULL)", logger: logger)
        }
    }

    static func insertChunks(
        _ chunks: [EncodedDocument.Chunk], collection: String, _ connection: PostgresConnection, logger: Logger
    ) async throws -> [StoredChunk] {
        var inserted: [StoredChunk] = []
        inserted.reserveCapacity(chunks.count)
        var start = 0
        while start < chunks.count {
            let end = min(chunks.count, start + chunkBatch)
            let batch = Array(chunks[start..<end])
            // Ids first, so each chunk knows its own (RETURNING does not promise the order of an unnest).
            let ids = try await connection.query(
                "SELECT nextval('retrieval_chunk_id_seq') FROM generate_series(1, \(batch.count))", logger: logger
            ).decode(Int64.self).all().sorted()
            guard ids.count == batch.count else { throw StorageFailure(message: "PostgreSQL: the chunk id sequence answered \(ids.count) of \(batch.count) ids") }
            try await connection.execute(
                """
                INSERT INTO retrieval_chunk (id, collection, document_id, position, text, heading_path, token_count, vector)
                SELECT u.id, \(collection), u.document_id, u.position, u.text, u.heading_path, u.token_count, u.vector
                FROM unnest(\(ids)::bigint[], \(batch.map(\.documentID))::text[], \(batch.map { Int64($0.chunk.position) })::bigint[],
                    \(batch.map(\.chunk.text))::text[], \(batch.map(\.headingPath))::text[], \(batch.map { Int64($0.chunk.tokenCount) })::bigint[],
                    \(batch.map(\.vector))::bytea[])
                    AS u(id, document_id, position, text, heading_path, token_count, vector)
                """, logger: logger)
            for (id, item) in zip(ids, batch) {
                var chunk = item.chunk
                chunk.id = id
                inserted.append(chunk)
            }
            start = end
        }
        return inserted
    }

    static func documents(in collection: String, ids: [String]?, _ connection: PostgresConnection, logger: Logger) async throws -> [StoredDocument] {
        let rows: [(String, String?, String?, String, String?, String, Double)]
        if let ids {
            rows = try await connection.query(
                """
                SELECT id, title, source, metadata, allowed, content_hash, updated_at FROM retrieval_document
                WHERE collection = \(collection) AND id = ANY(\(ids)) ORDER BY id
                """, logger: logger
            ).decode((String, String?, String?, String, String?, String, Double).self).all()
        } else {
            rows = try await connection.query(
                """
                SELECT id, title, source, metadata, allowed, content_hash, updated_at FROM retrieval_document
                WHERE collection = \(collection) ORDER BY id
                """, logger: logger
            ).decode((String, String?, String?, String, String?, String, Double).self).all()
        }
        let decoder = JSONDecoder()
        return rows.map { id, title, source, metadata, allowed, hash, updated in
            StoredDocument(
                id: id, title: title, source: source,
                metadata: (try? decoder.decode([String: JSONValue].self, from: Data(metadata.utf8))) ?? [:],
                allowed: allowed.flatMap { try? decoder.decode([String].self, from: Data($0.utf8)) },
                contentHash: hash, updatedAt: Date(timeIntervalSince1970: updated))
        }
    }

    static func chunks(in collection: String, documentIDs: [String]?, _ connection: PostgresConnection, logger: Logger) async throws -> [StoredChunk] {
        let rows: [(Int64, String, Int, String, String, Int, ByteBuffer)]
        if let documentIDs {
            rows = try await connection.query(
                """
                SELECT id, document_id, position, text, heading_path, token_count, vector FROM retrieval_chunk
                WHERE collection = \(collection) AND document_id = ANY(\(documentIDs)) ORDER BY id
                """, logger: logger
            ).decode((Int64, String, Int, String, String, Int, ByteBuffer).self).all()
        } else {
            rows = try await connection.query(
                """
                SELECT id, document_id, position, text, heading_path, token_count, vector FROM retrieval_chunk
                WHERE collection = \(collection) ORDER BY id
                """, logger: logger
            ).decode((Int64, String, Int, String, String, Int, ByteBuffer).self).all()
        }
        let decoder = JSONDecoder()
        return try rows.map { id, document, position, text, path, tokens, vector in
            StoredChunk(
                id: id, documentID: document, position: position, text: text,
                headingPath: (try? decoder.decode([String].self, from: Data(path.utf8))) ?? [], tokenCount: tokens,
                vector: try VectorBytes.decode(vector))
        }
    }
}

/// A document and its chunks ready to bind: JSON columns encoded as the SQLite store encodes them, text checked
/// for what PostgreSQL cannot hold.
struct EncodedDocument: Sendable {
    struct Chunk: Sendable {
        /// The document it is stored under (the document's id, as the SQLite store does).
        var documentID: String
        var chunk: StoredChunk
        var headingPath: String
        var vector: ByteBuffer
    }

    var document: StoredDocument
    var metadata: String
    var allowed: String?
    var chunks: [Chunk]

    init(_ item: (document: StoredDocument, chunks: [StoredChunk])) throws {
        let document = item.document
        let name = "document \(StorableText.quoted(document.id))"
        try StorableText.check(document.id, "A document id (\(name))", param: "id")
        try StorableText.check(document.title, "The title of \(name)", param: "title")
        try StorableText.check(document.source, "The source of \(name)", param: "source")
        try StorableText.check(document.contentHash, "The content hash of \(name)", param: "id")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.document = document
        metadata = String(decoding: try encoder.encode(document.metadata), as: UTF8.self)
        allowed = try document.allowed.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        chunks = try item.chunks.map { chunk in
            try StorableText.check(chunk.text, "The text of \(name)", param: "text")
            return Chunk(
                documentID: document.id, chunk: chunk, headingPath: String(decoding: try encoder.encode(chunk.headingPath), as: UTF8.self),
                vector: VectorBytes.encode(chunk.vector))
        }
    }
}
