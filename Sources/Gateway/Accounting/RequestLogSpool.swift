import Foundation
import Logging
import SwitchyardCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Request-log records a replica has answered but not yet stored, kept in a local file until their
/// batch is in the database, so `kill -9` of a replica loses no line of the shared log.
///
/// Each process owns `OWNER.lock` (held with `flock` for its lifetime: the kernel lets go when the
/// process dies, however it dies) and appends one JSON line per record to its current segment,
/// `OWNER.N.jsonl`. Segments turn over with the log's batches: a batch's segment is deleted once the
/// batch is stored, kept (and its records queued again) when storing fails. Any replica sharing the
/// directory adopts the segments of an owner whose lock is free — a replica that died — stores them
/// (the store ignores ids it already has) and deletes them. A restarted replica adopts its own.
///
/// Cost on the request path: one JSON encoding and one `write(2)` per record (the page cache, not
/// the disk: a process crash loses nothing; a machine crash may lose the last lines).
public final class RequestLogSpool: Sendable {
    public let directory: URL
    let owner: String
    private let lockDescriptor: Int32
    private let state: Mutex<State>
    private let logger: Logger

    struct State {
        var descriptor: Int32
        var segment: Int
        var written: Bool
    }

    public init(directory: URL, logger: Logger) throws {
        self.directory = directory
        self.logger = logger
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        owner = "\(getpid())-\(String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 36))"
        let lockPath = directory.appendingPathComponent(owner + ".lock").path
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            if lock >= 0 { close(lock) }
            throw SwitchyardError(code: .configuration, message: "Cannot lock the request-log spool in \(directory.path) (errno \(errno)).", status: 500)
        }
        lockDescriptor = lock
        let first = try Self.openSegment(directory, owner: owner, number: 1)
        state = Mutex(State(descriptor: first, segment: 1, written: false))
    }

    deinit {
        let descriptor = state.withLock { $0.descriptor }
        close(descriptor)
        close(lockDescriptor)
    }

    static func segmentURL(_ directory: URL, owner: String, number: Int) -> URL {
        directory.appendingPathComponent("\(owner).\(number).jsonl")
    }

    private static func openSegment(_ directory: URL, owner: String, number: Int) throws -> Int32 {
        let descriptor = open(segmentURL(directory, owner: owner, number: number).path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SwitchyardError(code: .internal, message: "Cannot open a request-log spool segment in \(directory.path) (errno \(errno)).", status: 500)
        }
        return descriptor
    }

    /// Encodes a record as one line (outside any lock).
    static func line(_ record: RequestRecord) -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard var data = try? encoder.encode(record) else { return nil }
        data.append(0x0A)
        return Array(data)
    }

    /// Appends one encoded line to the current segment. Called under the log's queue lock, so a
    /// segment holds exactly the records of one batch.
    func append(_ line: [UInt8]) {
        state.withLock { state in
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(state.descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 { if errno == EINTR { continue }; break }
                    offset += written
                }
            }
            state.written = true
        }
    }

    /// Starts a new segment; returns the one just closed (nil when nothing was written to it).
    /// Called under the log's queue lock, with the batch being taken.
    func rotate() -> Int? {
        state.withLock { state in
            guard state.written else { return nil }
            let closed = state.segment
            guard let next = try? Self.openSegment(directory, owner: owner, number: closed + 1) else { return nil }
            close(state.descriptor)
            state.descriptor = next
            state.segment = closed + 1
            state.written = false
            return closed
        }
    }

    /// The batch of these segments is stored: they go.
    func discard(_ segments: [Int]) {
        for number in segments { unlink(Self.segmentURL(directory, owner: owner, number: number).path) }
    }

    /// Segments of owners that died (their lock is free), with their records; `remove` deletes
    /// them once they are stored (if storing fails, they stay for the next look). Lines that do
    /// not decode (a torn last line) are skipped.
    func orphans() -> [(records: [RequestRecord], remove: @Sendable () -> Void)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var result: [(records: [RequestRecord], remove: @Sendable () -> Void)] = []
        let decoder = JSONDecoder()
        for name in names where name.hasSuffix(".lock") && name != owner + ".lock" {
            let other = String(name.dropLast(5))
            let lockPath = directory.appendingPathComponent(name).path
            let lock = open(lockPath, O_RDWR | O_CLOEXEC)
            guard lock >= 0 else { continue }
            guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { close(lock); continue }  // alive
            let segments = names.filter { $0.hasPrefix(other + ".") && $0.hasSuffix(".jsonl") }
            var records: [RequestRecord] = []
            for segment in segments {
                guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(segment).path) else { continue }
                for line in data.split(separator: 0x0A) where !line.isEmpty {
                    if let record = try? decoder.decode(RequestRecord.self, from: Data(line)) { records.append(record) }
                }
            }
            // Let go at once: two survivors adopting the same owner both store it, and the store
            // keeps each id once.
            close(lock)
            let directory = directory
            let logger = logger
            let count = records.count
            result.append((records, {
                for segment in segments { unlink(directory.appendingPathComponent(segment).path) }
                unlink(lockPath)
                logger.info("adopted the request-log spool of a replica that stopped", metadata: ["switchyard.spool": "\(other)", "records": "\(count)"])
            }))
        }
        return result
    }
}
