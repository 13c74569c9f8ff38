import Foundation

/// One stored Response (`store: true`): what `GET /v1/responses/{id}`, `input_items` and
/// `previous_response_id` read. A conversation is the chain of `previousID`s, so each row holds only
/// its own input and output (a long conversation is not copied into every turn).
public struct StoredResponse: Sendable, Hashable {
    public var id: String
    /// The caller that made it (its key's id, or "anonymous"); only it and admins may read it.
    public var owner: String
    public var createdAt: Date
    public var previousID: String?
    /// This request's input items, normalized (ids, content as parts).
    public var input: [JSONValue]
    /// The whole Response object as answered.
    public var response: JSONValue

    public init(id: String, owner: String, createdAt: Date, previousID: String?, input: [JSONValue], response: JSONValue) {
        self.id = id
        self.owner = owner
        self.createdAt = createdAt
        self.previousID = previousID
        self.input = input
        self.response = response
    }

    /// Its output items.
    public var output: [JSONValue] { response["output"]?.arrayValue ?? [] }
}

/// Where stored responses live (SQLite now; PostgreSQL later).
public protocol ResponsePersistence: Sendable {
    func saveResponse(_ response: StoredResponse) throws
    func loadResponse(id: String) throws -> StoredResponse?
    /// True when a row was removed.
    func deleteResponse(id: String) throws -> Bool
}
