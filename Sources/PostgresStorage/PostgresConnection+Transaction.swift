import Foundation
import Logging
import NIOCore
import PostgresNIO
import SwitchyardCore

/// What a transaction's body came to: a value, or a refusal meant for the client (a `SwitchyardError`, which
/// must reach the caller as it is, not as a `StorageFailure`).
enum TransactionOutcome<Value: Sendable>: Sendable {
    case done(Value)
    case refused(SwitchyardError)

    func get() throws -> Value {
        switch self {
        case .done(let value): return value
        case .refused(let error): throw error
        }
    }
}

extension PostgresConnection {
    /// Runs `body` in one transaction; rolls back when it throws. postgres-nio's own `withTransaction` wraps the
    /// body's error, which would hide a refusal meant for the client; this one rethrows it as it is.
    func inTransaction<Value: Sendable>(
        readOnly: Bool = false, logger: Logger, _ body: (PostgresConnection) async throws -> Value
    ) async throws -> TransactionOutcome<Value> {
        let begin: PostgresQuery = readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"
        _ = try await query(begin, logger: logger).collect()
        do {
            let value = try await body(self)
            _ = try await query("COMMIT", logger: logger).collect()
            return .done(value)
        } catch {
            _ = try? await query("ROLLBACK", logger: logger).collect()
            if let refusal = error as? SwitchyardError { return .refused(refusal) }
            throw error
        }
    }

    /// Runs a statement for its effect.
    func execute(_ statement: PostgresQuery, logger: Logger) async throws {
        _ = try await query(statement, logger: logger).collect()
    }
}

extension PostgresDatabase {
    /// One transaction, waited for (the persistence protocols that block).
    func blockingTransaction<Value: Sendable>(
        readOnly: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) throws -> Value {
        let logger = logger
        return try blocking { client in
            try await client.withConnection { connection in
                try await connection.inTransaction(readOnly: readOnly, logger: logger, body)
            }
        }.get()
    }

    /// One transaction (the async persistence protocols).
    func transaction<Value: Sendable>(
        readOnly: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let logger = logger
        return try await run { client in
            try await client.withConnection { connection in
                try await connection.inTransaction(readOnly: readOnly, logger: logger, body)
            }
        }.get()
    }
}

/// PostgreSQL refuses the NUL character in `TEXT`; a value that holds one is refused with a message naming it,
/// before anything is written.
enum StorableText {
    static func check(_ text: String?, _ what: @autoclosure () -> String, param: String) throws {
        guard let text, text.utf8.contains(0) else { return }
        throw SwitchyardError.invalidRequest(
            "\(what()) contains a NUL character (U+0000), which the PostgreSQL store cannot keep; remove it and send it again.", param: param)
    }

    /// Text that is only shown (error messages): NUL becomes U+FFFD rather than failing the write.
    static func shown(_ text: String?) -> String? {
        guard let text, text.utf8.contains(0) else { return text }
        return text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
    }

    /// An identifier for a message: its first 80 characters, NUL shown as U+FFFD.
    static func quoted(_ text: String) -> String {
        "'" + (shown(String(text.prefix(80))) ?? "") + (text.count > 80 ? "…'" : "'")
    }
}

/// Vectors as `BYTEA`: little-endian IEEE-754 single floats (the server has no pgvector).
enum VectorBytes {
    static func encode(_ vector: [Float]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(vector.count * 4)
        for value in vector { buffer.writeInteger(value.bitPattern, endianness: .little) }
        return buffer
    }

    static func decode(_ bytes: ByteBuffer) throws -> [Float] {
        var buffer = bytes
        guard buffer.readableBytes % 4 == 0 else {
            throw StorageFailure(message: "PostgreSQL: a stored vector has \(buffer.readableBytes) bytes, not a multiple of 4")
        }
        var vector: [Float] = []
        vector.reserveCapacity(buffer.readableBytes / 4)
        while let bits = buffer.readInteger(endianness: .little, as: UInt32.self) { vector.append(Float(bitPattern: bits)) }
        return vector
    }
}
