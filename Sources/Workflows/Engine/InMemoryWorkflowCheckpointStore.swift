import Foundation
import SwitchyardCore

/// A checkpoint store in memory: for tests, and for a gateway without a database (runs do not survive a restart).
public actor InMemoryWorkflowCheckpointStore: WorkflowCheckpointStore {
    private var runsByID: [String: WorkflowRunRecord] = [:]
    private var stepsByRun: [String: [WorkflowStepRecord]] = [:]

    public init() {}

    public func createRun(_ run: WorkflowRunRecord) {
        runsByID[run.id] = run
    }

    public func run(id: String) -> WorkflowRunRecord? { runsByID[id] }

    public func steps(runID: String) -> [WorkflowStepRecord] { stepsByRun[runID] ?? [] }

    public func recordStep(_ step: WorkflowStepRecord, runCostUSD: Double, stepsDone: Int) {
        stepsByRun[step.runID, default: []].removeAll { $0.stepID == step.stepID }
        stepsByRun[step.runID, default: []].append(step)
        runsByID[step.runID]?.costUSD = runCostUSD
        runsByID[step.runID]?.stepsDone = stepsDone
        runsByID[step.runID]?.updatedAt = step.finishedAt
    }

    public func finishRun(id: String, status: WorkflowRunStatus, output: JSONValue?, error: String?, at date: Date) {
        runsByID[id]?.status = status
        runsByID[id]?.output = output
        runsByID[id]?.error = error
        runsByID[id]?.updatedAt = date
    }

    public func transition(id: String, from: Set<WorkflowRunStatus>, to: WorkflowRunStatus, at date: Date) -> Bool {
        guard let run = runsByID[id], from.contains(run.status) else { return false }
        runsByID[id]?.status = to
        runsByID[id]?.error = nil
        runsByID[id]?.updatedAt = date
        return true
    }

    public func supplyInput(_ step: WorkflowStepRecord, stepsDone: Int) -> Bool {
        guard runsByID[step.runID]?.status == .waiting else { return false }
        recordStep(step, runCostUSD: runsByID[step.runID]?.costUSD ?? 0, stepsDone: stepsDone)
        runsByID[step.runID]?.status = .running
        runsByID[step.runID]?.error = nil
        return true
    }

    public func runs(status: WorkflowRunStatus, limit: Int) -> [WorkflowRunRecord] {
        Array(runsByID.values.filter { $0.status == status }.sorted { $0.createdAt < $1.createdAt }.prefix(limit))
    }

    public func runs(workflow: String, limit: Int) -> [WorkflowRunRecord] {
        Array(runsByID.values.filter { $0.workflow == workflow }.sorted { $0.createdAt > $1.createdAt }.prefix(limit))
    }
}
