import Foundation
import GRDB

/// Opens Switchyard's SQLite file the one way every store needs it.
enum SQLiteDatabase {
    /// `:memory:` gives a private in-memory database; any other path a WAL pool (folder created),
    /// with synchronous=NORMAL — durable across process crashes, one fsync per checkpoint.
    static func open(path: String) throws -> any DatabaseWriter {
        if path == ":memory:" { return try DatabaseQueue() }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// Opens the file and brings its schema up to date, turning GRDB's errors into one that names the
    /// store (`what`) and the path.
    static func open(path: String, migrator: DatabaseMigrator, what: String) throws -> any DatabaseWriter {
        do {
            let database = try open(path: path)
            try migrator.migrate(database)
            return database
        } catch let error as DatabaseError {
            throw StorageError(message: "Could not open the \(what) at '\(path)': \(error.message ?? "\(error)")")
        }
    }
}
