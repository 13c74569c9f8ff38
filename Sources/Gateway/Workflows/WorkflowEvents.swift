import Foundation
import Synchronization
import SwitchyardCore

/// Something that happened to a run: a step checkpointed, or the run's status changed.
public enum WorkflowEvent: Sendable {
    case step(WorkflowStepRecord)
    case status(WorkflowRunStatus)
}

/// Tells the readers of `GET …/runs/ID/events` what happens to their runs, as it is checkpointed. Bounded: at most
/// `maxSubscribers` readers at once, each buffering its newest `bufferSize` events (a reader that falls that far
/// behind reads the run again from the store when it ends).
public final class WorkflowEventHub: Sendable {
    static let maxSubscribers = 1_024
    static let bufferSize = 512
    private let subscribers = Mutex<[String: [UUID: AsyncStream<WorkflowEvent>.Continuation]]>([:])

    public init() {}

    /// A stream of the run's events from now on; nil when the gateway has `maxSubscribers` readers already.
    public func subscribe(runID: String) -> AsyncStream<WorkflowEvent>? {
        let (stream, continuation) = AsyncStream.makeStream(of: WorkflowEvent.self, bufferingPolicy: .bufferingNewest(Self.bufferSize))
        let token = UUID()
        let added = subscribers.withLock { subscribers -> Bool in
            guard subscribers.values.reduce(0, { $0 + $1.count }) < Self.maxSubscribers else { return false }
            subscribers[runID, default: [:]][token] = continuation
            return true
        }
        guard added else { return nil }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { subscribers in
                subscribers[runID]?[token] = nil
                if subscribers[runID]?.isEmpty == true { subscribers[runID] = nil }
            }
        }
        return stream
    }

    func publish(runID: String, _ event: WorkflowEvent) {
        let readers = subscribers.withLock { $0[runID].map { Array($0.values) } ?? [] }
        for reader in readers { reader.yield(event) }
    }
}

/// The gateway's checkpoint store with every write told to the event hub once it is durable.
final class PublishingCheckpointStore: WorkflowCheckpointStore {
    let base: any WorkflowCheckpointStore
    let hub: WorkflowEventHub
    let metrics: GatewayMetrics?
    /// Which workflow each recent run is of (for the step metrics' label); bounded.
    private let workflowOfRun = Mutex<[String: String]>([:])

    init(base: any WorkflowCheckpointStore, hub: WorkflowEventHub, metrics: GatewayMetrics? = nil) {
        self.base = base
        self.hub = hub
        self.metrics = metrics
    }

    func createRun(_ run: WorkflowRunRecord) async throws {
        try await base.createRun(run)
        remember(run.id, run.workflow)
    }

    private func remember(_ runID: String, _ workflow: String) {
        workflowOfRun.withLock { known in
            if known.count >= 10_000 { known.removeAll() }
            known[runID] = workflow
        }
    }

    private func count(_ step: WorkflowStepRecord) async {
        guard let metrics else { return }
        var workflow = workflowOfRun.withLock { $0[step.runID] }
        if workflow == nil, let run = try? await base.run(id: step.runID) {
            workflow = run.workflow
            remember(step.runID, run.workflow)
        }
        metrics.observeStep(workflow: workflow ?? "other", status: step.status)
    }
    func run(id: String) async throws -> WorkflowRunRecord? { try await base.run(id: id) }
    func steps(runID: String) async throws -> [WorkflowStepRecord] { try await base.steps(runID: runID) }

    func recordStep(_ step: WorkflowStepRecord, runCostUSD: Double, stepsDone: Int) async throws {
        try await base.recordStep(step, runCostUSD: runCostUSD, stepsDone: stepsDone)
        hub.publish(runID: step.runID, .step(step))
        await count(step)
    }

    func finishRun(id: String, status: WorkflowRunStatus, output: JSONValue?, error: String?, at date: Date) async throws {
        try await base.finishRun(id: id, status: status, output: output, error: error, at: date)
        hub.publish(runID: id, .status(status))
    }

    func transition(id: String, from: Set<WorkflowRunStatus>, to: WorkflowRunStatus, at date: Date) async throws -> Bool {
        let moved = try await base.transition(id: id, from: from, to: to, at: date)
        if moved { hub.publish(runID: id, .status(to)) }
        return moved
    }

    func supplyInput(_ step: WorkflowStepRecord, stepsDone: Int) async throws -> Bool {
        let supplied = try await base.supplyInput(step, stepsDone: stepsDone)
        if supplied {
            hub.publish(runID: step.runID, .step(step))
            await count(step)
            hub.publish(runID: step.runID, .status(.running))
        }
        return supplied
    }

    func runs(status: WorkflowRunStatus, limit: Int) async throws -> [WorkflowRunRecord] { try await base.runs(status: status, limit: limit) }
    func runs(workflow: String, limit: Int) async throws -> [WorkflowRunRecord] { try await base.runs(workflow: workflow, limit: limit) }
    func claimExecution(of runID: String) async throws -> Bool { try await base.claimExecution(of: runID) }
}
