import Foundation
import GRDB
import SwitchyardCore

/// Files and batches (OpenAI's and Anthropic's) in SQLite, the gateway's one database file. Each
/// batch's requests are rows of their own, so a batch resumes line by line after a restart.
public final class BatchStore: BatchPersistence {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "batch database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("batches-v1") { db in
            try db.create(table: "batch_file") { table in
                table.primaryKey("id", .text)
                table.column("owner", .text).notNull()
                table.column("purpose", .text).notNull()
                table.column("filename", .text).notNull()
                table.column("bytes", .integer).notNull()
                table.column("created_at", .double).notNull()
                table.column("content", .blob).notNull()
            }
            try db.create(table: "batch") { table in
                table.primaryKey("id", .text)
                table.column("kind", .text).notNull()
                table.column("owner", .text).notNull()
                table.column("endpoint", .text).notNull()
                table.column("input_file_id", .text)
                table.column("completion_window", .text).notNull()
                table.column("status", .text).notNull()
                table.column("metadata", .text)
                table.column("errors", .text).notNull()
                table.column("output_file_id", .text)
                table.column("error_file_id", .text)
                table.column("created_at", .double).notNull()
                table.column("in_progress_at", .double)
                table.column("finalizing_at", .double)
                table.column("completed_at", .double)
                table.column("failed_at", .double)
                table.column("cancelling_at", .double)
                table.column("cancelled_at", .double)
                table.column("expires_at", .double).notNull()
            }
            try db.create(index: "batch_by_status", on: "batch", columns: ["status"])
            try db.create(table: "batch_line") { table in
                table.column("batch_id", .text).notNull()
                table.column("line_index", .integer).notNull()
                table.column("custom_id", .text).notNull()
                table.column("body", .text).notNull()
                table.column("state", .integer).notNull()
                table.column("result", .text)
                table.primaryKey(["batch_id", "line_index"])
            }
            try db.create(index: "batch_line_by_state", on: "batch_line", columns: ["batch_id", "state", "line_index"])
        }
        return migrator
    }

    // MARK: Files

    public func saveFile(_ file: BatchFile) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO batch_file (id, owner, purpose, filename, bytes, created_at, content) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [file.id, file.owner, file.purpose, file.filename, file.bytes, file.createdAt.timeIntervalSince1970, file.content])
        }
    }

    public func loadFile(id: String, content: Bool) throws -> BatchFile? {
        try database.read { db in
            let columns = content ? "*" : "id, owner, purpose, filename, bytes, created_at"
            return try Row.fetchOne(db, sql: "SELECT \(columns) FROM batch_file WHERE id = ?", arguments: [id]).map(Self.file)
        }
    }

    public func listFiles(owner: String?, purpose: String?, after: String?, ascending: Bool, limit: Int) throws -> [BatchFile] {
        try database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let owner {
                conditions.append("owner = ?")
                arguments += [owner]
            }
            if let purpose {
                conditions.append("purpose = ?")
                arguments += [purpose]
            }
            if let after {
                conditions.append(ascending
                    ? "rowid > (SELECT rowid FROM batch_file WHERE id = ?)" : "rowid < (SELECT rowid FROM batch_file WHERE id = ?)")
                arguments += [after]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit]
            return try Row.fetchAll(
                db, sql: "SELECT id, owner, purpose, filename, bytes, created_at FROM batch_file \(filter) ORDER BY rowid \(ascending ? "ASC" : "DESC") LIMIT ?",
                arguments: arguments
            ).map(Self.file)
        }
    }

    public func deleteFile(id: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM batch_file WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    static func file(_ row: Row) -> BatchFile {
        BatchFile(
            id: row["id"], owner: row["owner"], purpose: row["purpose"], filename: row["filename"], bytes: row["bytes"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), content: row["content"] ?? Data())
    }

    // MARK: Batches

    public func createBatch(_ batch: BatchJob, lines: [BatchLine]) throws {
        try database.write { db in
            try Self.insert(batch, db: db)
            let statement = try db.makeStatement(
                sql: "INSERT INTO batch_line (batch_id, line_index, custom_id, body, state, result) VALUES (?, ?, ?, ?, ?, ?)")
            for line in lines {
                try statement.execute(arguments: [
                    line.batchID, line.index, line.customID, line.body, line.state.rawValue, line.result?.jsonString(),
                ])
            }
        }
    }

    public func saveBatch(_ batch: BatchJob) throws {
        try database.write { db in try Self.insert(batch, db: db) }
    }

    private static func insert(_ batch: BatchJob, db: Database) throws {
        func time(_ date: Date?) -> Double? { date?.timeIntervalSince1970 }
        try db.execute(
            sql: """
                INSERT INTO batch (id, kind, owner, endpoint, input_file_id, completion_window, status, metadata, errors,
                    output_file_id, error_file_id, created_at, in_progress_at, finalizing_at, completed_at, failed_at,
                    cancelling_at, cancelled_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET status = excluded.status, errors = excluded.errors,
                    output_file_id = excluded.output_file_id, error_file_id = excluded.error_file_id,
                    in_progress_at = excluded.in_progress_at, finalizing_at = excluded.finalizing_at,
                    completed_at = excluded.completed_at, failed_at = excluded.failed_at,
                    cancelling_at = excluded.cancelling_at, cancelled_at = excluded.cancelled_at
                """,
            arguments: [
                batch.id, batch.kind.rawValue, batch.owner, batch.endpoint, batch.inputFileID, batch.completionWindow,
                batch.status.rawValue, batch.metadata?.jsonString(), JSONValue.array(batch.errors).jsonString(),
                batch.outputFileID, batch.errorFileID, batch.createdAt.timeIntervalSince1970, time(batch.inProgressAt),
                time(batch.finalizingAt), time(batch.completedAt), time(batch.failedAt), time(batch.cancellingAt),
                time(batch.cancelledAt), batch.expiresAt.timeIntervalSince1970,
            ])
    }

    public func loadBatch(id: String) throws -> BatchJob? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE id = ?", arguments: [id]).map(Self.batch)
        }
    }

    public func listBatches(kind: BatchKind, owner: String?, after: String?, before: String?, limit: Int) throws -> [BatchJob] {
        try database.read { db in
            var conditions = ["kind = ?"]
            var arguments: StatementArguments = [kind.rawValue]
            if let owner {
                conditions.append("owner = ?")
                arguments += [owner]
            }
            // Newest first: "after" a batch means older than it, "before" newer.
            if let after {
                conditions.append("rowid < (SELECT rowid FROM batch WHERE id = ?)")
                arguments += [after]
            }
            if let before {
                conditions.append("rowid > (SELECT rowid FROM batch WHERE id = ?)")
                arguments += [before]
            }
            arguments += [limit]
            // With `before`, the page nearest the cursor is wanted: read upwards, then turn it round.
            let order = before != nil && after == nil ? "ASC" : "DESC"
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM batch WHERE \(conditions.joined(separator: " AND ")) ORDER BY rowid \(order) LIMIT ?",
                arguments: arguments
            ).map(Self.batch)
            return order == "ASC" ? rows.reversed() : rows
        }
    }

    public func activeBatches() throws -> [BatchJob] {
        try database.read { db in
            let active = BatchStatus.allCases.filter(\.isActive).map { "'\($0.rawValue)'" }.joined(separator: ", ")
            return try Row.fetchAll(db, sql: "SELECT * FROM batch WHERE status IN (\(active)) ORDER BY rowid ASC").map(Self.batch)
        }
    }

    public func deleteBatch(id: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM batch_line WHERE batch_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM batch WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    static func batch(_ row: Row) -> BatchJob {
        func time(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        var batch = BatchJob(
            id: row["id"], kind: BatchKind(rawValue: row["kind"]) ?? .openai, owner: row["owner"], endpoint: row["endpoint"],
            inputFileID: row["input_file_id"], completionWindow: row["completion_window"],
            status: BatchStatus(rawValue: row["status"]) ?? .failed,
            metadata: (row["metadata"] as String?).flatMap(JSONValue.parse),
            errors: JSONValue.parse(row["errors"] as String)?.arrayValue ?? [],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]))
        batch.outputFileID = row["output_file_id"]
        batch.errorFileID = row["error_file_id"]
        batch.inProgressAt = time("in_progress_at")
        batch.finalizingAt = time("finalizing_at")
        batch.completedAt = time("completed_at")
        batch.failedAt = time("failed_at")
        batch.cancellingAt = time("cancelling_at")
        batch.cancelledAt = time("cancelled_at")
        return batch
    }

    // MARK: Lines

    public func lines(batchID: String, state: BatchLineState, limit: Int) throws -> [BatchLine] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM batch_line WHERE batch_id = ? AND state = ? ORDER BY line_index LIMIT ?",
                arguments: [batchID, state.rawValue, limit]
            ).map(Self.line)
        }
    }

    public func finishedLines(batchID: String) throws -> [BatchLine] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM batch_line WHERE batch_id = ? AND state >= ? ORDER BY line_index",
                arguments: [batchID, BatchLineState.succeeded.rawValue]
            ).map(Self.line)
        }
    }

    public func lineCounts(batchID: String) throws -> BatchLineCounts {
        try database.read { db in
            var counts = BatchLineCounts()
            for row in try Row.fetchAll(
                db, sql: "SELECT state, COUNT(*) AS n FROM batch_line WHERE batch_id = ? GROUP BY state", arguments: [batchID])
            {
                if let state = BatchLineState(rawValue: row["state"]) { counts.byState[state] = row["n"] }
            }
            return counts
        }
    }

    public func updateLine(batchID: String, index: Int, state: BatchLineState, result: JSONValue?) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE batch_line SET state = ?, result = ? WHERE batch_id = ? AND line_index = ?",
                arguments: [state.rawValue, result?.jsonString(), batchID, index])
        }
    }

    public func updateLines(
        batchID: String, from: BatchLineState, to: BatchLineState, result: @Sendable (BatchLine) -> JSONValue
    ) throws -> Int {
        try database.write { db in
            let lines = try Row.fetchAll(
                db, sql: "SELECT * FROM batch_line WHERE batch_id = ? AND state = ?", arguments: [batchID, from.rawValue]
            ).map(Self.line)
            let statement = try db.makeStatement(sql: "UPDATE batch_line SET state = ?, result = ? WHERE batch_id = ? AND line_index = ?")
            for line in lines {
                try statement.execute(arguments: [to.rawValue, result(line).jsonString(), batchID, line.index])
            }
            return lines.count
        }
    }

    // MARK: Export (`switchyard migrate`)

    /// Every file with its content, a page at a time in the order they were stored.
    public func exportFiles(after rowID: Int64 = 0, limit: Int) throws -> ExportPage<BatchFile> {
        try database.read { db in
            ExportPage.make(try Row.fetchAll(db, sql: ExportPage<BatchFile>.sql("batch_file"), arguments: [rowID, limit]), limit: limit, Self.file)
        }
    }

    /// Every batch, a page at a time in the order they were created.
    public func exportBatches(after rowID: Int64 = 0, limit: Int) throws -> ExportPage<BatchJob> {
        try database.read { db in
            ExportPage.make(try Row.fetchAll(db, sql: ExportPage<BatchJob>.sql("batch"), arguments: [rowID, limit]), limit: limit, Self.batch)
        }
    }

    /// Every line of a batch, whatever its state, in line order.
    public func allLines(batchID: String) throws -> [BatchLine] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batch_line WHERE batch_id = ? ORDER BY line_index", arguments: [batchID]).map(Self.line)
        }
    }

    static func line(_ row: Row) -> BatchLine {
        BatchLine(
            batchID: row["batch_id"], index: row["line_index"], customID: row["custom_id"], body: row["body"],
            state: BatchLineState(rawValue: row["state"]) ?? .errored, result: (row["result"] as String?).flatMap(JSONValue.parse))
    }
}
