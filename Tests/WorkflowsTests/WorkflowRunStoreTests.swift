import Foundation
import Storage
import SwitchyardCore
import Testing
import Workflows

@Suite struct WorkflowRunStoreTests {
    func temporaryDatabase() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-wf-\(UUID().uuidString)/db.sqlite").path
    }

    @Test func roundTripsRunsAndSteps() async throws {
        let path = temporaryDatabase()
        let store = try WorkflowRunStore(path: path)
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.createRun(
            WorkflowRunRecord(id: "r1", workflow: "w", input: .object(["q": .string("hi")]), createdAt: created, callerID: "key-1"))
        let step = WorkflowStepRecord(
            runID: "r1", stepID: "draft", status: .completed, input: .string("prompt"), output: .object(["label": .string("x")]),
            costUSD: 0.25, promptTokens: 11, completionTokens: 4, ms: 12.5, attempts: 2, startedAt: created, finishedAt: created + 1)
        try await store.recordStep(step, runCostUSD: 0.25, stepsDone: 1)
        try await store.finishRun(id: "r1", status: .completed, output: .string("done"), error: nil, at: created + 2)

        // A second store on the same file sees everything (as the gateway does after a restart).
        let reopened = try WorkflowRunStore(path: path)
        let run = try #require(try await reopened.run(id: "r1"))
        #expect(run.status == .completed && run.output == .string("done") && run.costUSD == 0.25 && run.stepsDone == 1)
        #expect(run.input == .object(["q": .string("hi")]) && run.callerID == "key-1" && run.createdAt == created)
        #expect(try await reopened.steps(runID: "r1") == [step])
        #expect(try await reopened.runs(workflow: "w", limit: 10).map(\.id) == ["r1"])
        #expect(try await reopened.runs(status: .running, limit: 10).isEmpty)
        #expect(try await reopened.run(id: "nope") == nil)
    }

    /// Resuming is a conditional transition: of two resumes of the same run, one wins; a waiting run's answer writes
    /// its step and the status together, once.
    @Test func transitionsAndAnswersAreConditional() async throws {
        let store = try WorkflowRunStore(path: temporaryDatabase())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.createRun(WorkflowRunRecord(id: "r", workflow: "w", status: .running, input: .null, createdAt: now))
        try await store.finishRun(id: "r", status: .failed, output: nil, error: "boom", at: now)
        #expect(try await store.transition(id: "r", from: [.failed], to: .running, at: now))
        #expect(try await store.transition(id: "r", from: [.failed], to: .running, at: now) == false)
        #expect(try await store.run(id: "r")?.error == nil)
        let question = WorkflowStepRecord(runID: "r", stepID: "ok", status: .waiting, input: .string("approve?"), startedAt: now, finishedAt: now)
        try await store.recordStep(question, runCostUSD: 0, stepsDone: 1)
        var answer = question
        answer.status = .completed
        answer.output = .bool(true)
        #expect(try await store.supplyInput(answer, stepsDone: 2) == false, "the run is running, not waiting")
        #expect(try await store.steps(runID: "r").first?.status == .waiting)
        try await store.finishRun(id: "r", status: .waiting, output: nil, error: nil, at: now)
        #expect(try await store.supplyInput(answer, stepsDone: 2))
        let run = try #require(try await store.run(id: "r"))
        #expect(run.status == .running && run.stepsDone == 2)
        #expect(try await store.steps(runID: "r") == [answer])
    }

    /// A checkpoint is two rows: the step's, and the run's totals. Measured with SQLite's total_changes().
    @Test func aCheckpointWritesTwoRows() async throws {
        let store = try WorkflowRunStore(path: temporaryDatabase())
        let runner = ScriptedRunner { _, prompt in prompt }
        let engine = WorkflowEngine(runner: runner, store: store, sleep: { _ in })
        let workflow = try spec(WorkflowEngineTests.threeSteps)
        let before = try await store.totalChanges()
        _ = try await engine.start(workflow, input: .string("q"), runID: "r")
        let afterStart = try await store.totalChanges()
        _ = try await engine.execute(workflow, runID: "r")
        let afterRun = try await store.totalChanges()
        #expect(afterStart - before == 1, "starting a run inserts its row")
        // 3 steps × (1 step row + 1 run update) + 1 final run update.
        #expect(afterRun - afterStart == 3 * 2 + 1)
        let counts = try await store.rowCounts()
        #expect(counts.runs == 1 && counts.steps == 3)
    }

    /// A crash after step 1 was checkpointed in SQLite: a new engine over the reopened file finishes the run, and
    /// step 1's model is never called again.
    @Test func resumesFromTheDatabaseAfterACrash() async throws {
        let path = temporaryDatabase()
        let workflow = try spec(WorkflowEngineTests.threeSteps)
        do {
            // The first process: step 1 finishes; step 2 hangs, and the process dies in it (its task is cancelled).
            let store = try WorkflowRunStore(path: path)
            let firstRunner = ScriptedRunner(hangOn: "strong") { model, prompt in "[\(model): \(prompt)]" }
            let firstEngine = WorkflowEngine(runner: firstRunner, store: store, sleep: { _ in })
            _ = try await firstEngine.start(workflow, input: .string("why?"), runID: "r")
            let running = Task { try await firstEngine.execute(workflow, runID: "r") }
            while await firstRunner.calls(to: "strong").isEmpty { try await Task.sleep(for: .milliseconds(2)) }
            running.cancel()
            await #expect(throws: CancellationError.self) { try await running.value }
            #expect(try await store.steps(runID: "r").map(\.stepID) == ["draft"], "a step interrupted is not recorded")
        }
        let store = try WorkflowRunStore(path: path)
        let pending = try await store.runs(status: .running, limit: 10)
        #expect(pending.map(\.id) == ["r"])
        let runner = ScriptedRunner { model, prompt in "[\(model): \(prompt)]" }
        let outcome = try await WorkflowEngine(runner: runner, store: store, sleep: { _ in }).execute(workflow, runID: "r")
        #expect(outcome.run.status == .completed)
        #expect(await runner.calls.map(\.model) == ["strong", "cheap"], "the draft step is not run again")
        #expect(outcome.run.output == .string("[cheap: Format for the customer: [strong: Improve this answer: [cheap: Answer briefly: why?]]]"))
        #expect(try await store.run(id: "r")?.status == .completed)
        #expect(try await store.steps(runID: "r").map(\.stepID) == ["draft", "review", "final"])
    }
}
