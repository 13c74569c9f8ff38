import Foundation
import Storage
import SwitchyardCore
import Synchronization

/// Files and batches as the HTTP API sees them: ownership (a file or batch is visible to the key
/// that made it and to admins; to anyone else it does not exist), validation, and the hand-over to
/// the `BatchRunner`, which executes the requests.
extension Gateway {
    /// The largest file `POST /v1/files` takes is the request body limit, `server.max_body_bytes`
    /// (the upload is one request; raise that limit for bigger batch files).
    public var maxBatchFileBytes: Int { configuration.server.maxBodyBytes }

    /// How long a batch may run before its unfinished requests expire (`completion_window: 24h`).
    public static let batchCompletionWindow: TimeInterval = 24 * 3600

    func batchPersistence() throws -> any BatchPersistence {
        guard let batchStore else {
            throw SwitchyardError(code: .configuration, message: "Batches need the gateway's database (`storage: {sqlite: ...}`), which could not be opened.", status: 503)
        }
        return batchStore
    }

    static func mayRead(owner: String, caller: Caller) -> Bool { owner == caller.id || caller.role == .admin }

    /// `prefix` and 24 random hex digits.
    static func newBatchID(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let high = String(generator.next() as UInt64, radix: 16)
        let low = String((generator.next() as UInt64) & 0xFFFF_FFFF, radix: 16)
        return prefix + String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 8 - low.count) + low
    }

    // MARK: Files

    /// Stores an uploaded file (`purpose: batch` only: this gateway uses files for batches).
    public func createBatchFile(content: Data, filename: String, purpose: String, caller: Caller) async throws -> BatchFile {
        guard purpose == "batch" else {
            throw SwitchyardError.invalidRequest(
                "purpose '\(purpose.quotedPrefix(40))' is not supported: this gateway stores files for batches only (purpose \"batch\").",
                param: "purpose")
        }
        guard !content.isEmpty else { throw SwitchyardError.invalidRequest("The file is empty.", param: "file") }
        guard content.count <= maxBatchFileBytes else { throw SwitchyardError.payloadTooLarge(limit: maxBatchFileBytes) }
        let file = BatchFile(
            id: Self.newBatchID("file-"), owner: caller.id, purpose: purpose, filename: String(filename.prefix(255)),
            bytes: content.count, createdAt: Date(), content: content)
        let store = try batchPersistence()
        try await BlockingWork.run { try store.saveFile(file) }
        return file
    }

    /// A file the caller may read, with its content when `content` is true; otherwise a 404 naming `param`.
    public func batchFile(_ id: String, caller: Caller, content: Bool = false, param: String? = nil) async throws -> BatchFile {
        let store = try batchPersistence()
        guard id.utf8.count <= 200, let file = try await BlockingWork.run({ try store.loadFile(id: id, content: content) }),
            Self.mayRead(owner: file.owner, caller: caller)
        else {
            throw SwitchyardError(
                code: .notFound, message: "No file with id '\(id.quotedPrefix(80))' (files are visible to the key that uploaded them).",
                status: 404, param: param ?? "file_id")
        }
        return file
    }

    /// The caller's files (an admin's: everyone's), without content.
    public func batchFiles(caller: Caller, purpose: String?, after: String?, ascending: Bool, limit: Int) async throws -> [BatchFile] {
        let store = try batchPersistence()
        let owner = caller.role == .admin ? nil : caller.id
        return try await BlockingWork.run { try store.listFiles(owner: owner, purpose: purpose, after: after, ascending: ascending, limit: limit) }
    }

    public func deleteBatchFile(_ id: String, caller: Caller) async throws {
        let file = try await batchFile(id, caller: caller)
        let store = try batchPersistence()
        _ = try await BlockingWork.run { try store.deleteFile(id: file.id) }
    }

    // MARK: Batches

    /// Creates an OpenAI batch over an uploaded input file. A file with bad lines makes a batch that
    /// is `failed` at once with every problem listed, as OpenAI's validation does; otherwise the
    /// batch is queued for the runner.
    public func createOpenAIBatch(
        inputFileID: String, endpoint: String, completionWindow: String, metadata: JSONValue?, caller: Caller
    ) async throws -> BatchJob {
        guard BatchInput.openAIEndpoints.contains(endpoint) else {
            throw SwitchyardError.invalidRequest(
                "endpoint '\(endpoint.quotedPrefix(60))' is not supported; use one of \(BatchInput.openAIEndpoints.sorted().joined(separator: ", ")).",
                param: "endpoint")
        }
        guard completionWindow == "24h" else {
            throw SwitchyardError.invalidRequest("completion_window must be \"24h\".", param: "completion_window")
        }
        try Self.validateMetadata(metadata)
        let file = try await batchFile(inputFileID, caller: caller, content: true, param: "input_file_id")
        guard file.purpose == "batch" else {
            throw SwitchyardError.invalidRequest("The file '\(file.id)' has purpose '\(file.purpose)'; a batch needs a file uploaded with purpose \"batch\".", param: "input_file_id")
        }
        let now = Date()
        var batch = BatchJob(
            id: Self.newBatchID("batch_"), kind: .openai, owner: caller.id, endpoint: endpoint, inputFileID: file.id,
            completionWindow: completionWindow, status: .validating, metadata: metadata, createdAt: now,
            expiresAt: now.addingTimeInterval(Self.batchCompletionWindow))
        var lines: [BatchLine] = []
        switch BatchInput.parseOpenAI(file.content, endpoint: endpoint) {
        case .requests(let requests):
            lines = requests.enumerated().map { index, request in
                BatchLine(batchID: batch.id, index: index, customID: request.customID, body: request.body.jsonString())
            }
        case .invalid(let problems):
            batch.status = .failed
            batch.failedAt = now
            batch.errors = problems.map(\.json)
        }
        let store = try batchPersistence()
        try await BlockingWork.run { [batch, lines] in try store.createBatch(batch, lines: lines) }
        batchSignal.notify()
        return batch
    }

    /// Creates an Anthropic Message Batch from its create body (`{"requests": [...]}`).
    public func createAnthropicBatch(_ body: JSONValue, caller: Caller) async throws -> BatchJob {
        let requests = try BatchInput.parseAnthropic(body)
        let now = Date()
        let batch = BatchJob(
            id: Self.newBatchID("msgbatch_"), kind: .anthropic, owner: caller.id, endpoint: "/v1/messages", inputFileID: nil,
            status: .inProgress, createdAt: now, expiresAt: now.addingTimeInterval(Self.batchCompletionWindow))
        var started = batch
        started.inProgressAt = now
        let lines = requests.enumerated().map { index, request in
            BatchLine(batchID: batch.id, index: index, customID: request.customID, body: request.body.jsonString())
        }
        let store = try batchPersistence()
        try await BlockingWork.run { [started] in try store.createBatch(started, lines: lines) }
        batchSignal.notify()
        return started
    }

    /// OpenAI's metadata rule: at most 16 pairs, keys up to 64 characters, string values up to 512.
    static func validateMetadata(_ metadata: JSONValue?) throws {
        guard let metadata, metadata != .null else { return }
        guard let object = metadata.objectValue, object.count <= 16,
            object.allSatisfy({ $0.key.count <= 64 && ($0.value.stringValue?.count ?? 513) <= 512 })
        else {
            throw SwitchyardError.invalidRequest(
                "metadata must be an object of at most 16 string values (keys up to 64 characters, values up to 512).", param: "metadata")
        }
    }

    /// A batch of `kind` the caller may read, or a 404.
    public func batch(_ id: String, kind: BatchKind, caller: Caller) async throws -> BatchJob {
        let store = try batchPersistence()
        guard id.utf8.count <= 200, let batch = try await BlockingWork.run({ try store.loadBatch(id: id) }), batch.kind == kind,
            Self.mayRead(owner: batch.owner, caller: caller)
        else {
            throw SwitchyardError(
                code: .notFound, message: "No batch with id '\(id.quotedPrefix(80))' (batches are visible to the key that made them).",
                status: 404, param: "batch_id")
        }
        return batch
    }

    /// How many of a batch's requests are in each state.
    public func batchCounts(_ batch: BatchJob) async throws -> BatchLineCounts {
        let store = try batchPersistence()
        return try await BlockingWork.run { try store.lineCounts(batchID: batch.id) }
    }

    /// The caller's batches of `kind`, newest first.
    public func batches(kind: BatchKind, caller: Caller, after: String?, before: String?, limit: Int) async throws -> [BatchJob] {
        let store = try batchPersistence()
        let owner = caller.role == .admin ? nil : caller.id
        return try await BlockingWork.run { try store.listBatches(kind: kind, owner: owner, after: after, before: before, limit: limit) }
    }

    /// Asks the runner to stop a batch: it becomes `cancelling` at once; requests already running
    /// finish, the rest are reported cancelled, then it is `cancelled`. A batch that has ended is
    /// returned as it is.
    public func cancelBatch(_ id: String, kind: BatchKind, caller: Caller) async throws -> BatchJob {
        var batch = try await batch(id, kind: kind, caller: caller)
        guard batch.status == .validating || batch.status == .inProgress else { return batch }
        batch.status = .cancelling
        batch.cancellingAt = Date()
        cancelRequested.withLock { _ = $0.insert(batch.id) }
        let store = try batchPersistence()
        try await BlockingWork.run { [batch] in try store.saveBatch(batch) }
        batchSignal.notify()
        return batch
    }

    /// Deletes a batch that has ended (Anthropic's rule: cancel a running one first).
    public func deleteBatch(_ id: String, kind: BatchKind, caller: Caller) async throws {
        let batch = try await batch(id, kind: kind, caller: caller)
        guard !batch.status.isActive else {
            throw SwitchyardError(
                code: .invalidRequest, message: "The batch '\(batch.id)' is still processing; cancel it and wait until it has ended before deleting it.",
                status: 409)
        }
        let store = try batchPersistence()
        _ = try await BlockingWork.run { try store.deleteBatch(id: batch.id) }
    }

    /// Every finished request of a batch with its result, in input order.
    public func batchResults(_ batch: BatchJob) async throws -> [BatchLine] {
        let store = try batchPersistence()
        return try await BlockingWork.run { try store.finishedLines(batchID: batch.id) }
    }

    /// The caller a batch runs as: the key that made it, as it is now (a key revoked or expired
    /// since stops its batches' remaining requests).
    func batchCaller(owner: String) throws -> Caller {
        if let (key, _) = governor.key(id: owner) {
            if key.revokedAt != nil { throw SwitchyardError.authentication("The API key '\(key.name)' that made this batch was revoked.") }
            if let expires = key.expiresAt, expires <= Date() {
                throw SwitchyardError.authentication("The API key '\(key.name)' that made this batch has expired.")
            }
            return Caller(key)
        }
        if owner == Caller.anonymous.id, !requiresAuth { return .anonymous }
        throw SwitchyardError.authentication("The API key that made this batch no longer exists.")
    }
}

/// Wakes the batch runner when there is new work (a batch created or cancelled). One waiter: the
/// runner; a notification with no waiter is kept until the next wait.
final class BatchSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func notify() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next notification (at once if one came since the last wait), or on cancellation.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter?.resume()  // a second waiter replaces the first, which returns
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            notify()
        }
    }
}
