import Foundation
import GRDB
import SwitchyardCore

/// Stored Responses API responses in SQLite (the gateway's one database file).
public final class ResponseStore: ResponsePersistence {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "responses database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("responses-v1") { db in
            try db.create(table: "stored_response") { table in
                table.primaryKey("id", .text)
                table.column("owner", .text).notNull()
                table.column("created_at", .double).notNull()
                table.column("previous_id", .text)
                table.column("input", .text).notNull()
                table.column("response", .text).notNull()
            }
        }
        return migrator
    }

    public func saveResponse(_ response: StoredResponse) throws {
        let input = JSONValue.array(response.input).jsonString()
        let body = response.response.jsonString()
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO stored_response (id, owner, created_at, previous_id, input, response) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [response.id, response.owner, response.createdAt.timeIntervalSince1970, response.previousID, input, body])
        }
    }

    public func loadResponse(id: String) throws -> StoredResponse? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM stored_response WHERE id = ?", arguments: [id]).map(Self.response)
        }
    }

    /// Every stored response, a page at a time in the order they were stored (`switchyard migrate`).
    public func exportResponses(after rowID: Int64 = 0, limit: Int) throws -> ExportPage<StoredResponse> {
        try database.read { db in
            ExportPage.make(
                try Row.fetchAll(db, sql: ExportPage<StoredResponse>.sql("stored_response"), arguments: [rowID, limit]), limit: limit, Self.response)
        }
    }

    static func response(_ row: Row) -> StoredResponse {
        StoredResponse(
            id: row["id"], owner: row["owner"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            previousID: row["previous_id"], input: JSONValue.parse(row["input"] as String)?.arrayValue ?? [],
            response: JSONValue.parse(row["response"] as String) ?? .null)
    }

    public func deleteResponse(id: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM stored_response WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }
}
