import Foundation
import GRDB

/// One page of a table read in the order its rows were written (SQLite's rowid), for copying the
/// whole table elsewhere (`switchyard migrate`). Pages follow each other by rowid, so a row is read
/// once however the table's own keys compare.
public struct ExportPage<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Where the next page starts (pass it as `after`); nil when this page was the last.
    public var next: Int64?

    /// `rows` read with `SELECT rowid AS export_rowid, …` ordered by rowid, at most `limit` of them.
    static func make(_ rows: [Row], limit: Int, _ item: (Row) throws -> Item) rethrows -> ExportPage {
        let last: Int64? = rows.last?["export_rowid"]
        return ExportPage(items: try rows.map(item), next: rows.count < limit ? nil : last)
    }

    /// The SQL of a page: `table`'s rows after a rowid, `columns` and the rowid, in rowid order.
    static func sql(_ table: String, columns: String = "*", filter: String? = nil) -> String {
        "SELECT rowid AS export_rowid, \(columns) FROM \(table) WHERE rowid > ? \(filter.map { "AND " + $0 } ?? "") ORDER BY rowid LIMIT ?"
    }
}
