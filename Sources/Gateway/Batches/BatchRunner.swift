import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore
import Synchronization

/// Runs one request of a batch through the gateway's pipeline and shapes its result line in the
/// batch API's format (the HTTP layer implements it: it knows each protocol's bodies and errors).
public protocol BatchLineExecutor: Sendable {
    /// Executes `line` as `caller`. Never throws: a failed request is an errored result.
    func execute(_ line: BatchLine, of batch: BatchJob, caller: Caller) async -> BatchLineResult
    /// The result of a request that failed before it could run (its key was revoked; the gateway
    /// stopped while it ran, so it is not run again).
    func failure(_ line: BatchLine, of batch: BatchJob, error: SwitchyardError) -> JSONValue
    /// The result of a request never run because its batch was cancelled or expired.
    func notRun(_ line: BatchLine, of batch: BatchJob, state: BatchLineState) -> JSONValue
}

/// What executing one line gave.
public struct BatchLineResult: Sendable {
    /// `.succeeded` or `.errored`.
    public var state: BatchLineState
    public var result: JSONValue
    /// Set when the request was refused before it ran (a rate limit, 429): the runner waits this
    /// long and runs it again instead of failing it, as a batch is not in a hurry.
    public var retryAfter: Duration?

    public init(state: BatchLineState, result: JSONValue, retryAfter: Duration? = nil) {
        self.state = state
        self.result = result
        self.retryAfter = retryAfter
    }
}

/// Executes batches in the background, one batch at a time (oldest first) with up to `concurrency`
/// of its requests at once, through the same pipeline as live requests (routing, caching, budgets,
/// rate limits of the key that made it).
///
/// Durable: batch and request states live in the database. Each request is marked `running` before
/// it is executed and gets its result after; on start, the runner resumes every unfinished batch
/// from its pending requests, and reports requests left `running` by a stopped gateway as errored
/// (`batch_interrupted`) instead of executing them a second time. On graceful shutdown it starts
/// no new request and lets running ones finish.
public final class BatchRunner: Service {
    let gateway: Gateway
    let executor: any BatchLineExecutor
    let concurrency: Int
    let pollInterval: Duration
    let logger: Logger
    private let stopping = StopFlag()

    /// A request refused for a rate limit is tried again this many times before it is failed.
    static let maxRetries = 20
    static let maxRetryWait: Duration = .seconds(60)

    public init(
        gateway: Gateway, executor: any BatchLineExecutor, concurrency: Int = 4, pollInterval: Duration = .seconds(5),
        logger: Logger = Logger(label: "switchyard.batches")
    ) {
        self.gateway = gateway
        self.executor = executor
        self.concurrency = max(1, min(concurrency, 64))
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        // One runner per gateway: a second application over the same gateway leaves batches to the first.
        guard gateway.batchRunnerActive.withLock({ active in
            defer { active = true }
            return !active
        }) else {
            try? await gracefulShutdown()
            return
        }
        defer { gateway.batchRunnerActive.withLock { $0 = false } }
        let signal = gateway.batchSignal
        let stopping = self.stopping
        let interval = pollInterval
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                // A timer wakes the loop now and then: work left by a failed database write is retried.
                group.addTask {
                    while !Task.isCancelled, !stopping.isSet {
                        try? await Task.sleep(for: interval)
                        signal.notify()
                    }
                }
                while !stopping.isSet, !Task.isCancelled {
                    await self.runActiveBatches()
                    if stopping.isSet || Task.isCancelled { break }
                    await signal.wait()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.set()
            signal.notify()
        }
    }

    /// Works through every batch with work left, oldest first.
    func runActiveBatches() async {
        do {
            let store = try gateway.batchPersistence()
            let batches = try await BlockingWork.run { try store.activeBatches() }
            for batch in batches {
                if stopping.isSet || Task.isCancelled { return }
                try await process(batch, store: store)
            }
        } catch {
            logger.error("batch runner: could not run batches", metadata: ["error": "\(error)"])
        }
    }

    func process(_ batch: BatchJob, store: any BatchPersistence) async throws {
        var batch = batch
        if batch.status == .validating {
            batch.status = .inProgress
            batch.inProgressAt = Date()
            try await BlockingWork.run { [batch] in try store.saveBatch(batch) }
        }
        // Requests a stopped gateway left running may have reached the model: never run them twice.
        let executor = self.executor
        let interrupted = SwitchyardError(
            code: .internal, message: "The gateway stopped while this request ran; it was not run again, so it may or may not have reached the model.",
            status: 500)
        let snapshot = batch
        let count = try await BlockingWork.run {
            try store.updateLines(batchID: snapshot.id, from: .running, to: .errored) { executor.failure($0, of: snapshot, error: interrupted) }
        }
        if count > 0 { logger.warning("batch: requests interrupted by a restart reported as errored", metadata: ["batch": "\(batch.id)", "count": "\(count)"]) }

        if batch.status == .inProgress {
            try await executePending(batch, store: store)
            if stopping.isSet || Task.isCancelled { return }
            // A cancel may have come in while it ran.
            batch = try await BlockingWork.run { [id = batch.id] in try store.loadBatch(id: id) } ?? batch
        }
        var final = BatchStatus.completed
        if batch.status == .cancelling || gateway.cancelRequested.withLock({ $0.contains(batch.id) }) {
            final = .cancelled
            try await markUnrun(batch, as: .cancelled, store: store)
        } else if Date() >= batch.expiresAt {
            final = .expired
            try await markUnrun(batch, as: .expired, store: store)
        }
        try await finish(batch, as: final, store: store)
        gateway.cancelRequested.withLock { _ = $0.remove(batch.id) }
    }

    private func markUnrun(_ batch: BatchJob, as state: BatchLineState, store: any BatchPersistence) async throws {
        let executor = self.executor
        _ = try await BlockingWork.run {
            try store.updateLines(batchID: batch.id, from: .pending, to: state) { executor.notRun($0, of: batch, state: state) }
        }
    }

    /// Runs the batch's pending requests, `concurrency` at a time, until none is left, the batch is
    /// cancelled or expires, or the gateway stops.
    private func executePending(_ batch: BatchJob, store: any BatchPersistence) async throws {
        let gateway = self.gateway
        while true {
            if stopping.isSet || Task.isCancelled || gateway.cancelRequested.withLock({ $0.contains(batch.id) }) { return }
            if Date() >= batch.expiresAt { return }
            let pending = try await BlockingWork.run { [id = batch.id, limit = concurrency * 8] in
                try store.lines(batchID: id, state: .pending, limit: limit)
            }
            guard !pending.isEmpty else { return }
            try await withThrowingTaskGroup(of: Void.self) { group in
                var running = 0
                for line in pending {
                    if stopping.isSet || gateway.cancelRequested.withLock({ $0.contains(batch.id) }) { break }
                    if running >= concurrency {
                        _ = try await group.next()
                        running -= 1
                    }
                    group.addTask { try await self.runLine(line, of: batch, store: store) }
                    running += 1
                }
                try await group.waitForAll()
            }
        }
    }

    private func runLine(_ line: BatchLine, of batch: BatchJob, store: any BatchPersistence) async throws {
        try await BlockingWork.run { try store.updateLine(batchID: batch.id, index: line.index, state: .running, result: nil) }
        var outcome: BatchLineResult
        do {
            let caller = try gateway.batchCaller(owner: batch.owner)
            var attempt = 0
            while true {
                outcome = await executor.execute(line, of: batch, caller: caller)
                guard let wait = outcome.retryAfter, attempt < Self.maxRetries, !stopping.isSet else { break }
                attempt += 1
                try? await Task.sleep(for: min(max(wait, .milliseconds(100)), Self.maxRetryWait))
            }
        } catch {
            let failure = error as? SwitchyardError ?? SwitchyardError.internal("\(error)")
            outcome = BatchLineResult(state: .errored, result: executor.failure(line, of: batch, error: failure))
        }
        try await BlockingWork.run { [outcome] in
            try store.updateLine(batchID: batch.id, index: line.index, state: outcome.state, result: outcome.result)
        }
    }

    /// Ends a batch: an OpenAI batch gets its output file (successful requests) and error file
    /// (the rest), each only when it has lines, as OpenAI does.
    private func finish(_ batch: BatchJob, as status: BatchStatus, store: any BatchPersistence) async throws {
        var batch = batch
        let now = Date()
        if batch.kind == .openai {
            batch.status = .finalizing
            batch.finalizingAt = batch.finalizingAt ?? now
            try await BlockingWork.run { [batch] in try store.saveBatch(batch) }
            let lines = try await BlockingWork.run { [id = batch.id] in try store.finishedLines(batchID: id) }
            func jsonl(_ lines: [BatchLine]) -> Data {
                var data = Data()
                for line in lines {
                    data.append(contentsOf: (line.result ?? .null).jsonString().utf8)
                    data.append(UInt8(ascii: "\n"))
                }
                return data
            }
            let succeeded = lines.filter { $0.state == .succeeded }
            let failed = lines.filter { $0.state != .succeeded }
            for (group, suffix) in [(succeeded, "output"), (failed, "error")] where !group.isEmpty {
                let content = jsonl(group)
                let file = BatchFile(
                    id: Gateway.newBatchID("file-"), owner: batch.owner, purpose: "batch_output", filename: "\(batch.id)_\(suffix).jsonl",
                    bytes: content.count, createdAt: now, content: content)
                try await BlockingWork.run { try store.saveFile(file) }
                if suffix == "output" { batch.outputFileID = file.id } else { batch.errorFileID = file.id }
            }
        }
        batch.status = status
        // An expired batch keeps its end time in `completedAt` too; it is shown as `expired_at`.
        if status == .cancelled { batch.cancelledAt = now } else { batch.completedAt = now }
        try await BlockingWork.run { [batch] in try store.saveBatch(batch) }
        logger.info("batch ended", metadata: ["batch": "\(batch.id)", "status": "\(status.rawValue)"])
    }
}

/// A flag set once, read from any task.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
