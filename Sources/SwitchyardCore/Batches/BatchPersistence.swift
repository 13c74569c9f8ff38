import Foundation

/// A file uploaded through `POST /v1/files` (or written by a batch: its output and error files).
public struct BatchFile: Sendable, Hashable {
    public var id: String
    /// The caller that made it (its key's id, or "anonymous"); only it and admins may see it.
    public var owner: String
    /// `batch` for uploads, `batch_output` for the files a batch writes.
    public var purpose: String
    public var filename: String
    public var bytes: Int
    public var createdAt: Date
    /// The content; empty when the file was loaded without it (listings).
    public var content: Data

    public init(id: String, owner: String, purpose: String, filename: String, bytes: Int, createdAt: Date, content: Data = Data()) {
        self.id = id
        self.owner = owner
        self.purpose = purpose
        self.filename = filename
        self.bytes = bytes
        self.createdAt = createdAt
        self.content = content
    }
}

/// Which API a batch was made through, which decides the shape of its lines and results.
public enum BatchKind: String, Sendable, Hashable {
    /// OpenAI's Batch API (`/v1/batches`): lines from an input file, results in output files.
    case openai
    /// Anthropic's Message Batches (`/v1/messages/batches`): requests in the body, results as JSONL.
    case anthropic
}

/// Where a batch is in its life. The names are OpenAI's; Anthropic's `processing_status` is derived.
public enum BatchStatus: String, Sendable, Hashable, CaseIterable {
    case validating, failed
    case inProgress = "in_progress"
    case finalizing, completed, expired, cancelling, cancelled

    /// True while the runner still has work to do on it.
    public var isActive: Bool { self == .validating || self == .inProgress || self == .finalizing || self == .cancelling }
}

/// One batch: what `GET /v1/batches/{id}` and `GET /v1/messages/batches/{id}` show.
public struct BatchJob: Sendable, Hashable {
    public var id: String
    public var kind: BatchKind
    public var owner: String
    /// `/v1/chat/completions`, `/v1/embeddings`, `/v1/responses` (OpenAI) or `/v1/messages` (Anthropic).
    public var endpoint: String
    public var inputFileID: String?
    public var completionWindow: String
    public var status: BatchStatus
    public var metadata: JSONValue?
    /// Validation errors of a failed batch (`errors.data` of OpenAI's object).
    public var errors: [JSONValue]
    public var outputFileID: String?
    public var errorFileID: String?
    public var createdAt: Date
    public var inProgressAt: Date?
    public var finalizingAt: Date?
    public var completedAt: Date?
    public var failedAt: Date?
    public var cancellingAt: Date?
    public var cancelledAt: Date?
    public var expiresAt: Date

    public init(
        id: String, kind: BatchKind, owner: String, endpoint: String, inputFileID: String?, completionWindow: String = "24h",
        status: BatchStatus, metadata: JSONValue? = nil, errors: [JSONValue] = [], createdAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.kind = kind
        self.owner = owner
        self.endpoint = endpoint
        self.inputFileID = inputFileID
        self.completionWindow = completionWindow
        self.status = status
        self.metadata = metadata
        self.errors = errors
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Where one request of a batch is. A line is marked `running` (durably) before it is executed, so a
/// gateway that stops mid-line never executes it again on restart: it is reported as interrupted.
public enum BatchLineState: Int, Sendable, Hashable, CaseIterable {
    case pending = 0, running = 1, succeeded = 2, errored = 3, cancelled = 4, expired = 5

    public var isFinished: Bool { rawValue >= 2 }
}

/// One request of a batch and, once finished, its result.
public struct BatchLine: Sendable, Hashable {
    public var batchID: String
    /// 0-based position in the input.
    public var index: Int
    public var customID: String
    /// The request body (OpenAI `body`, Anthropic `params`) as JSON text.
    public var body: String
    public var state: BatchLineState
    /// The result line as written to the output/error file (OpenAI) or the results JSONL (Anthropic).
    public var result: JSONValue?

    public init(batchID: String, index: Int, customID: String, body: String, state: BatchLineState = .pending, result: JSONValue? = nil) {
        self.batchID = batchID
        self.index = index
        self.customID = customID
        self.body = body
        self.state = state
        self.result = result
    }
}

/// How many of a batch's lines are in each state.
public struct BatchLineCounts: Sendable, Hashable {
    public var byState: [BatchLineState: Int]

    public init(byState: [BatchLineState: Int] = [:]) { self.byState = byState }

    public subscript(state: BatchLineState) -> Int { byState[state] ?? 0 }
    public var total: Int { byState.values.reduce(0, +) }
}

/// Where files and batches live (SQLite now). Every call is blocking: run it off the event loops.
public protocol BatchPersistence: Sendable {
    func saveFile(_ file: BatchFile) throws
    /// The file's metadata, and its content when `content` is true.
    func loadFile(id: String, content: Bool) throws -> BatchFile?
    /// Files, newest first unless `ascending`, of one owner (nil: all), without content.
    func listFiles(owner: String?, purpose: String?, after: String?, ascending: Bool, limit: Int) throws -> [BatchFile]
    func deleteFile(id: String) throws -> Bool

    /// Saves a new batch with its lines, in one transaction.
    func createBatch(_ batch: BatchJob, lines: [BatchLine]) throws
    func saveBatch(_ batch: BatchJob) throws
    func loadBatch(id: String) throws -> BatchJob?
    /// Batches of one kind, newest first, of one owner (nil: all); `after`/`before` are batch ids (cursors).
    func listBatches(kind: BatchKind, owner: String?, after: String?, before: String?, limit: Int) throws -> [BatchJob]
    /// Batches the runner still has work on, oldest first.
    func activeBatches() throws -> [BatchJob]
    func deleteBatch(id: String) throws -> Bool

    /// Up to `limit` lines in `state`, in input order.
    func lines(batchID: String, state: BatchLineState, limit: Int) throws -> [BatchLine]
    /// Every finished line, in input order (results and output files).
    func finishedLines(batchID: String) throws -> [BatchLine]
    func lineCounts(batchID: String) throws -> BatchLineCounts
    /// Moves one line to `state` with its result.
    func updateLine(batchID: String, index: Int, state: BatchLineState, result: JSONValue?) throws
    /// Moves every line in `from` to `to` with the same result (cancel, interrupt); returns how many.
    func updateLines(batchID: String, from: BatchLineState, to: BatchLineState, result: @Sendable (BatchLine) -> JSONValue) throws -> Int
}
