import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// Stored Responses API responses in PostgreSQL, so a `previous_response_id` made on one replica
/// is found on any other. The same rows and answers as `ResponseStore` (SQLite).
public final class PostgresResponseStore: ResponsePersistence {
    let database: PostgresDatabase

    /// Applies the store's migrations (blocking: call it off the event loops).
    public init(database: PostgresDatabase) throws {
        self.database = database
        try database.migrate(store: "responses", Self.migrations)
    }

    static let migrations = [
        """
        CREATE TABLE stored_response (
            id TEXT COLLATE "C" PRIMARY KEY,
            owner TEXT COLLATE "C" NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            previous_id TEXT COLLATE "C",
            input TEXT NOT NULL,
            response TEXT NOT NULL
        )
        """,
    ]

    /// Saves or replaces the response with this id.
    public func saveResponse(_ response: StoredResponse) throws {
        var statement = try Self.insert(response)
        statement.append(
            """

            ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, created_at = excluded.created_at, previous_id = excluded.previous_id,
                input = excluded.input, response = excluded.response
            """)
        _ = try database.blockingRows(statement)
    }

    /// Stores a response from another deployment (`switchyard migrate`); one whose id is already
    /// stored is left alone (false).
    public func importResponse(_ response: StoredResponse) throws -> Bool {
        var statement = try Self.insert(response)
        statement.append(" ON CONFLICT (id) DO NOTHING RETURNING 1")
        return try !database.blockingRows(statement).isEmpty
    }

    static func insert(_ response: StoredResponse) throws -> PostgresStatement {
        var statement = PostgresStatement()
        let values = [
            try statement.text(response.id), try statement.text(response.owner), try statement.bind(response.createdAt.timeIntervalSince1970),
            try statement.text(response.previousID), try statement.text(JSONValue.array(response.input).jsonString()),
            try statement.text(response.response.jsonString()),
        ]
        statement.append("INSERT INTO stored_response (id, owner, created_at, previous_id, input, response) VALUES (\(values.joined(separator: ", ")))")
        return statement
    }

    public func loadResponse(id: String) throws -> StoredResponse? {
        var statement = PostgresStatement()
        statement.append("SELECT id, owner, created_at, previous_id, input, response FROM stored_response WHERE id = \(try statement.text(id))")
        return try database.blockingRows(statement).first.map { row in
            let column = PostgresColumns(row)
            return StoredResponse(
                id: try column("id"), owner: try column("owner"), createdAt: try column.date("created_at"),
                previousID: try column("previous_id"), input: JSONValue.parse(try column("input", as: String.self))?.arrayValue ?? [],
                response: JSONValue.parse(try column("response", as: String.self)) ?? .null)
        }
    }

    public func deleteResponse(id: String) throws -> Bool {
        var statement = PostgresStatement()
        statement.append("DELETE FROM stored_response WHERE id = \(try statement.text(id)) RETURNING 1")
        return try !database.blockingRows(statement).isEmpty
    }
}

extension PostgresDatabase {
    /// Runs one statement from a blocking protocol method and returns its rows.
    func blockingRows(_ statement: PostgresStatement) throws -> [PostgresRow] {
        let query = statement.query
        return try blocking { [logger] client in try await client.query(query, logger: logger).collect() }
    }

    /// Async form of the same.
    func rows(_ statement: PostgresStatement) async throws -> [PostgresRow] {
        let query = statement.query
        return try await run { [logger] client in try await client.query(query, logger: logger).collect() }
    }
}
