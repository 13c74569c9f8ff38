import Foundation
import PostgresNIO
import Logging

/// SQL written a piece at a time with its binds numbered as they are added (`$1`, `$2`, …), for
/// queries whose conditions depend on the call. Values only ever go in as binds; the SQL text is
/// this package's own.
struct PostgresStatement {
    private(set) var sql = ""
    private(set) var binds = PostgresBindings()

    init(_ sql: String = "") { self.sql = sql }

    /// Adds `value` as the next bind and returns its placeholder.
    mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) throws -> String {
        try binds.append(value)
        return "$\(binds.count)"
    }

    /// Adds `value` (nil: a NULL) as the next bind and returns its placeholder, cast to `type` so
    /// that a NULL has a type the server can take (a VALUES list of NULLs alone would be `text`).
    mutating func bind<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value?, as type: String) throws -> String {
        try binds.append(value)
        return "$\(binds.count)::\(type)"
    }

    /// A text bind, with NUL characters replaced (see `PostgresText.storable`).
    mutating func text(_ value: String) throws -> String { try bind(PostgresText.storable(value)) }

    mutating func text(_ value: String?) throws -> String { try bind(value.map(PostgresText.storable), as: "text") }

    mutating func append(_ text: String) { sql += text }

    var bindCount: Int { binds.count }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}

/// PostgreSQL's TEXT cannot hold U+0000 (the server refuses the whole statement). Every text value
/// this package writes goes through `storable`: a NUL becomes U+FFFD, so the row is kept with the
/// rest of its text intact rather than lost with the batch it came in. JSON text never needs it
/// (encoders write `\u0000`), the free text a client or upstream sent might.
enum PostgresText {
    static let replacement = "\u{FFFD}"

    static func storable(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return text.replacingOccurrences(of: "\u{0}", with: replacement)
    }

    /// The SQL for a `[String: String]` map's JSON: keys and values made storable first.
    static func storableJSON(_ map: [String: String]) -> String? {
        guard !map.isEmpty else { return nil }
        var clean: [String: String] = [:]
        for (key, value) in map { clean[storable(key)] = storable(value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(clean)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Reads a row's columns by name.
struct PostgresColumns {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    func callAsFunction<Value: PostgresDecodable>(_ name: String, as type: Value.Type = Value.self) throws -> Value {
        try row[name].decode(Value.self)
    }

    /// A Unix time stored as `DOUBLE PRECISION`.
    func date(_ name: String) throws -> Date { Date(timeIntervalSince1970: try self(name, as: Double.self)) }

    func optionalDate(_ name: String) throws -> Date? {
        try self(name, as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }
}

extension PostgresClient {
    /// Runs a statement and returns its rows.
    func rows(_ statement: PostgresStatement, logger: Logger) async throws -> [PostgresRow] {
        try await query(statement.query, logger: logger).collect()
    }
}

extension PostgresConnection {
    func rows(_ statement: PostgresStatement, logger: Logger) async throws -> [PostgresRow] {
        try await query(statement.query, logger: logger).collect()
    }
}

extension Array {
    /// The elements in consecutive runs, each closed when adding the next element would pass
    /// `count` elements or `bytes` (as `size` measures them); an element larger than `bytes` alone
    /// is a run of its own.
    func runs(count: Int, bytes: Int, size: (Element) -> Int) -> [ArraySlice<Element>] {
        var result: [ArraySlice<Element>] = []
        var start = startIndex
        var total = 0
        for index in indices {
            let next = size(self[index])
            if index > start, index - start >= count || total + next > bytes {
                result.append(self[start..<index])
                start = index
                total = 0
            }
            total += next
        }
        if start < endIndex { result.append(self[start..<endIndex]) }
        return result
    }
}
