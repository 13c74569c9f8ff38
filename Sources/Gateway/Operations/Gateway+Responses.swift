import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore
import Synchronization

/// Stored responses: the most recent ones in memory (so `previous_response_id` and `GET` right
/// after a create never wait for the database), every one written to the persistence by one
/// background writer, in order (a delete never overtakes the save it deletes).
final class ResponseArchive: Sendable {
    private struct State {
        var recent: [String: StoredResponse] = [:]
        var order: [String] = []  // oldest first
        var deleted: Set<String> = []
    }

    private enum Write: Sendable {
        case save(StoredResponse)
        case delete(String)
    }

    static let memoryLimit = 2_000
    private let state = Mutex(State())
    private let persistence: (any ResponsePersistence)?
    private let writes: AsyncStream<Write>
    private let writer: AsyncStream<Write>.Continuation
    private let logger: Logger

    init(persistence: (any ResponsePersistence)?, logger: Logger) {
        self.persistence = persistence
        self.logger = logger
        (writes, writer) = AsyncStream<Write>.makeStream(bufferingPolicy: .bufferingNewest(50_000))
    }

    deinit { writer.finish() }

    /// Writes queued saves and deletes to the persistence, in order, until `finishWriting()`;
    /// run once, by `ResponseArchiveService`.
    func drain() async {
        guard let persistence else {
            // Nothing to write, but a service that returns early ends its whole group: wait for shutdown.
            for await _ in writes {}
            return
        }
        for await write in writes {
            do {
                switch write {
                case .save(let response): try await BlockingWork.run { try persistence.saveResponse(response) }
                case .delete(let id): _ = try await BlockingWork.run { try persistence.deleteResponse(id: id) }
                }
            } catch {
                logger.error("could not write a stored response", metadata: ["switchyard.error": "\(error)"])
            }
        }
    }

    /// No more writes: `drain()` returns once the queued ones are written.
    func finishWriting() { writer.finish() }

    func save(_ response: StoredResponse) {
        state.withLock { state in
            if state.recent.updateValue(response, forKey: response.id) == nil { state.order.append(response.id) }
            state.deleted.remove(response.id)
            if state.order.count > Self.memoryLimit + Self.memoryLimit / 4 {
                let evicted = state.order.prefix(state.order.count - Self.memoryLimit)
                for id in evicted { state.recent[id] = nil }
                state.order.removeFirst(evicted.count)
            }
        }
        if persistence != nil { writer.yield(.save(response)) }
    }

    func load(_ id: String) async throws -> StoredResponse? {
        let (cached, deleted) = state.withLock { ($0.recent[id], $0.deleted.contains(id)) }
        if deleted { return nil }
        if let cached { return cached }
        guard let persistence else { return nil }
        return try await BlockingWork.run { try persistence.loadResponse(id: id) }
    }

    func delete(_ id: String) {
        state.withLock { state in
            state.recent[id] = nil
            state.order.removeAll { $0 == id }
            state.deleted.insert(id)
            if state.deleted.count > Self.memoryLimit { state.deleted.removeAll() }
        }
        if persistence != nil { writer.yield(.delete(id)) }
    }
}

/// Runs the stored-responses writer in the gateway's service group; on graceful shutdown the
/// queued writes are finished before it returns.
struct ResponseArchiveService: Service {
    let archive: ResponseArchive

    func run() async throws {
        await withGracefulShutdownHandler {
            await archive.drain()
        } onGracefulShutdown: {
            archive.finishWriting()
        }
        // A gateway served a second time finds its writer already finished: wait for this group's
        // shutdown anyway, as a service that returns early ends its group.
        try? await gracefulShutdown()
    }
}

extension Gateway {
    /// The longest chain of `previous_response_id`s a request may continue.
    static let maxConversationLinks = 1_000

    /// A stored response the caller may read (its own; an admin's any), or a 404.
    public func storedResponse(_ id: String, caller: Caller, param: String? = nil) async throws -> StoredResponse {
        guard id.utf8.count <= 200, let stored = try await responses.load(id), stored.owner == caller.id || caller.role == .admin else {
            throw SwitchyardError(
                code: .notFound, message: "No response with id '\(id.quotedPrefix(80))' (stored responses are visible to the key that made them).",
                status: 404, param: param)
        }
        return stored
    }

    /// The items of the conversation `previousID` ends, oldest first: every earlier turn's input and
    /// output, through the chain of previous responses.
    public func conversation(before previousID: String, caller: Caller) async throws -> [JSONValue] {
        var turns: [[JSONValue]] = []
        var next: String? = previousID
        var count = 0
        var seen: Set<String> = []
        while let id = next {
            guard seen.insert(id).inserted, seen.count <= Self.maxConversationLinks else {
                throw SwitchyardError.invalidRequest(
                    "The conversation behind previous_response_id is longer than \(Self.maxConversationLinks) responses.",
                    param: "previous_response_id")
            }
            let stored = try await storedResponse(id, caller: caller, param: "previous_response_id")
            let items = stored.input + stored.output
            count += items.count
            guard count <= ResponsesRequest.maxItems else {
                throw SwitchyardError.invalidRequest(
                    "The conversation behind previous_response_id has more than \(ResponsesRequest.maxItems) items.",
                    param: "previous_response_id")
            }
            turns.append(items)
            next = stored.previousID
        }
        return turns.reversed().flatMap { $0 }
    }

    /// A stored response by id: nil when there is none; a 404 when there is one the caller may not
    /// read (so a native pass-through never forwards another key's conversation id).
    public func findStoredResponse(_ id: String, caller: Caller, param: String? = nil) async throws -> StoredResponse? {
        guard id.utf8.count <= 200, let stored = try await responses.load(id) else { return nil }
        return try await storedResponse(stored.id, caller: caller, param: param)
    }

    /// Keeps a response (`store: true`).
    public func storeResponse(_ response: StoredResponse) { responses.save(response) }

    /// Deletes a stored response the caller may read.
    public func deleteStoredResponse(_ id: String, caller: Caller) async throws {
        _ = try await storedResponse(id, caller: caller)
        responses.delete(id)
    }
}
