import Foundation
import GRDB
import SwitchyardCore

/// Collections, documents and chunks (with their vectors) in SQLite: the source of truth the
/// in-memory indexes are loaded or rebuilt from.
public final class RetrievalStore: RetrievalPersistence {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "retrieval database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("retrieval-v1") { db in
            try db.create(table: "retrieval_collection") { table in
                table.primaryKey("name", .text)
                table.column("embedding_model", .text).notNull()
                table.column("dimension", .integer).notNull()
                table.column("created_at", .double).notNull()
                table.column("revision", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "retrieval_document") { table in
                table.column("collection", .text).notNull().references("retrieval_collection", onDelete: .cascade)
                table.column("id", .text).notNull()
                table.column("title", .text)
                table.column("source", .text)
                table.column("metadata", .text).notNull()
                table.column("allowed", .text)
                table.column("content_hash", .text).notNull()
                table.column("updated_at", .double).notNull()
                table.primaryKey(["collection", "id"])
            }
            try db.create(table: "retrieval_chunk") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("collection", .text).notNull()
                table.column("document_id", .text).notNull()
                table.column("position", .integer).notNull()
                table.column("text", .text).notNull()
                table.column("heading_path", .text).notNull()
                table.column("token_count", .integer).notNull()
                table.column("vector", .blob).notNull()
                table.foreignKey(["collection", "document_id"], references: "retrieval_document", onDelete: .cascade)
            }
            try db.create(index: "retrieval_chunk_document", on: "retrieval_chunk", columns: ["collection", "document_id"])
        }
        return migrator
    }

    public func loadCollections() throws -> [StoredCollection] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retrieval_collection ORDER BY name").map { row in
                StoredCollection(
                    name: row["name"], embeddingModel: row["embedding_model"], dimension: row["dimension"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), revision: row["revision"])
            }
        }
    }

    public func createCollection(_ collection: StoredCollection) throws {
        try database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM retrieval_collection WHERE name = ?", arguments: [collection.name]) == true {
                throw SwitchyardError(
                    code: .invalidRequest, message: "A collection named '\(collection.name)' already exists.", status: 409, param: "name")
            }
            try db.execute(
                sql: "INSERT INTO retrieval_collection (name, embedding_model, dimension, created_at, revision) VALUES (?, ?, ?, ?, ?)",
                arguments: [collection.name, collection.embeddingModel, collection.dimension, collection.createdAt.timeIntervalSince1970, collection.revision])
        }
    }

    public func deleteCollection(named name: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM retrieval_chunk WHERE collection = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM retrieval_document WHERE collection = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM retrieval_collection WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public func documents(in collection: String) throws -> [StoredDocument] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retrieval_document WHERE collection = ?", arguments: [collection]).map { row in
                let metadata: String = row["metadata"]
                let allowed: String? = row["allowed"]
                return StoredDocument(
                    id: row["id"], title: row["title"], source: row["source"],
                    metadata: (try? JSONDecoder().decode([String: JSONValue].self, from: Data(metadata.utf8))) ?? [:],
                    allowed: allowed.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
                    contentHash: row["content_hash"], updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
            }
        }
    }

    public func chunks(in collection: String) throws -> [StoredChunk] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retrieval_chunk WHERE collection = ? ORDER BY id", arguments: [collection]).map { row in
                let path: String = row["heading_path"]
                let blob: Data = row["vector"]
                return StoredChunk(
                    id: row["id"], documentID: row["document_id"], position: row["position"], text: row["text"],
                    headingPath: (try? JSONDecoder().decode([String].self, from: Data(path.utf8))) ?? [], tokenCount: row["token_count"],
                    vector: blob.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            }
        }
    }

    public func replace(_ documents: [(document: StoredDocument, chunks: [StoredChunk])], in collection: String) throws -> StoredChange {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try database.write { db in
            var removed: [Int64] = []
            var inserted: [StoredChunk] = []
            let insertChunk = try db.cachedStatement(
                sql: """
                    INSERT INTO retrieval_chunk (collection, document_id, position, text, heading_path, token_count, vector)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            for (document, chunks) in documents {
                removed += try Int64.fetchAll(
                    db, sql: "SELECT id FROM retrieval_chunk WHERE collection = ? AND document_id = ?", arguments: [collection, document.id])
                try db.execute(sql: "DELETE FROM retrieval_chunk WHERE collection = ? AND document_id = ?", arguments: [collection, document.id])
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO retrieval_document (collection, id, title, source, metadata, allowed, content_hash, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        collection, document.id, document.title, document.source,
                        String(decoding: try encoder.encode(document.metadata), as: UTF8.self),
                        try document.allowed.map { String(decoding: try encoder.encode($0), as: UTF8.self) }, document.contentHash,
                        document.updatedAt.timeIntervalSince1970,
                    ])
                for var chunk in chunks {
                    let vector = chunk.vector.withUnsafeBufferPointer { Data(buffer: $0) }
                    try insertChunk.execute(arguments: [
                        collection, document.id, chunk.position, chunk.text,
                        String(decoding: try encoder.encode(chunk.headingPath), as: UTF8.self), chunk.tokenCount, vector,
                    ])
                    chunk.id = db.lastInsertedRowID
                    inserted.append(chunk)
                }
            }
            return StoredChange(inserted: inserted, removed: removed, revision: try bump(db, collection))
        }
    }

    public func deleteDocument(_ id: String, in collection: String) throws -> StoredChange? {
        try database.write { db in
            let removed = try Int64.fetchAll(
                db, sql: "SELECT id FROM retrieval_chunk WHERE collection = ? AND document_id = ?", arguments: [collection, id])
            try db.execute(sql: "DELETE FROM retrieval_chunk WHERE collection = ? AND document_id = ?", arguments: [collection, id])
            try db.execute(sql: "DELETE FROM retrieval_document WHERE collection = ? AND id = ?", arguments: [collection, id])
            guard db.changesCount > 0 else { return nil }
            return StoredChange(inserted: [], removed: removed, revision: try bump(db, collection))
        }
    }

    private func bump(_ db: Database, _ collection: String) throws -> Int64 {
        try db.execute(sql: "UPDATE retrieval_collection SET revision = revision + 1 WHERE name = ?", arguments: [collection])
        return try Int64.fetchOne(db, sql: "SELECT revision FROM retrieval_collection WHERE name = ?", arguments: [collection]) ?? 0
    }
}
