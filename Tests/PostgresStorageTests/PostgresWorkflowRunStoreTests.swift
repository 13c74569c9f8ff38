import Foundation
import Logging
import PostgresStorage
import Storage
import SwitchyardCore
import Testing
import Workflows

@Suite("PostgreSQL workflow runs: checkpoints, compare-and-set, leases", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"))
struct PostgresWorkflowRunStoreTests {
    static func store(_ database: PostgresDatabase, _ replica: String, lease: Duration = .seconds(10)) async throws -> PostgresWorkflowRunStore {
        try await BlockingWork.run { try PostgresWorkflowRunStore(database: database, replicaID: replica, leaseDuration: lease) }
    }

    struct Transcript: Equatable {
        var runs: [WorkflowRunRecord?] = []
        var steps: [[WorkflowStepRecord]] = []
        var answers: [Bool] = []
        var lists: [[String]] = []
    }

    static func script(_ store: any WorkflowCheckpointStore) async throws -> Transcript {
        var transcript = Transcript()
        let t0 = Date(timeIntervalSince1970: 1_700_000_000.25)
        try await store.createRun(WorkflowRunRecord(id: "r1", workflow: "w", input: ["q": "why?", "n": 3], createdAt: t0, callerID: "key_1"))
        try await store.createRun(WorkflowRunRecord(id: "r2", workflow: "w", status: .waiting, input: "x", createdAt: t0 + 1))
        try await store.createRun(WorkflowRunRecord(id: "r3", workflow: "v", input: .null, createdAt: t0 + 2))
        let step = { (run: String, id: String, status: WorkflowStepStatus, at: Double) in
            WorkflowStepRecord(
                runID: run, stepID: id, status: status, input: .string("prompt \(id)"), output: status == .failed ? nil : ["text": .string(id)],
                error: status == .failed ? "upstream 500" : nil, costUSD: 0.25, promptTokens: 10, completionTokens: 5, ms: 12.5, attempts: 2,
                startedAt: t0 + at - 1, finishedAt: t0 + at)
        }
        try await store.recordStep(step("r1", "a", .completed, 10), runCostUSD: 0.25, stepsDone: 1)
        try await store.recordStep(step("r1", "b", .failed, 11), runCostUSD: 0.5, stepsDone: 1)
        try await store.recordStep(step("r1", "c", .completed, 11), runCostUSD: 0.75, stepsDone: 2)
        // Retried: the latest attempt replaces it, and sorts after c (same time, written later).
        try await store.recordStep(step("r1", "b", .completed, 11), runCostUSD: 1.0, stepsDone: 3)
        try await store.finishRun(id: "r1", status: .completed, output: ["answer": 42], error: nil, at: t0 + 20)
        transcript.answers.append(try await store.transition(id: "r2", from: [.running, .failed], to: .running, at: t0 + 21))
        transcript.answers.append(try await store.supplyInput(step("r2", "ask", .completed, 22), stepsDone: 1))
        transcript.answers.append(try await store.supplyInput(step("r2", "ask", .completed, 23), stepsDone: 1))
        try await store.finishRun(id: "r3", status: .failed, output: nil, error: "boom", at: t0 + 24)
        transcript.answers.append(try await store.transition(id: "r3", from: [.failed], to: .running, at: t0 + 25))
        transcript.answers.append(try await store.transition(id: "nope", from: [.failed], to: .running, at: t0 + 25))
        for id in ["r1", "r2", "r3", "nope"] {
            transcript.runs.append(try await store.run(id: id))
            transcript.steps.append(try await store.steps(runID: id))
        }
        transcript.lists.append(try await store.runs(status: .running, limit: 10).map(\.id))
        transcript.lists.append(try await store.runs(status: .running, limit: 1).map(\.id))
        transcript.lists.append(try await store.runs(workflow: "w", limit: 10).map(\.id))
        transcript.lists.append(try await store.runs(status: .completed, limit: -3).map(\.id))
        return transcript
    }

    @Test func checkpointsMatchTheSQLiteStore() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pg-workflows-\(UUID().uuidString).db").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sqlite = try await Self.script(try WorkflowRunStore(path: path))
        let database = replicaDatabase(try await PostgresTestDatabase.create())
        let postgres = try await Self.script(try await Self.store(database, "a"))
        await database.shutdown()
        #expect(sqlite.answers == [false, true, false, true, false])
        #expect(sqlite.steps[0].map(\.stepID) == ["a", "c", "b"])
        #expect(sqlite.lists[0] == ["r2", "r3"])
        #expect(postgres == sqlite)
    }

    /// Compare-and-set from two replicas at once: exactly one resume and one answer win.
    @Test func transitionsAndAnswersAreCompareAndSetAcrossReplicas() async throws {
        let url = try await PostgresTestDatabase.create()
        let (databaseA, databaseB) = (replicaDatabase(url), replicaDatabase(url))
        let stores = [try await Self.store(databaseA, "a"), try await Self.store(databaseB, "b")]
        let now = Date()
        try await stores[0].createRun(WorkflowRunRecord(id: "failed", workflow: "w", input: .null, createdAt: now))
        try await stores[0].finishRun(id: "failed", status: .failed, output: nil, error: "x", at: now)
        try await stores[0].createRun(WorkflowRunRecord(id: "waits", workflow: "w", status: .waiting, input: .null, createdAt: now))
        let (resumed, answered) = try await withThrowingTaskGroup(of: (Bool, Bool).self) { group in
            for index in 0..<12 {
                let store = stores[index % 2]
                group.addTask {
                    let moved = try await store.transition(id: "failed", from: [.failed], to: .running, at: Date())
                    let step = WorkflowStepRecord(
                        runID: "waits", stepID: "ask", status: .completed, output: .string("answer \(index)"), startedAt: now, finishedAt: Date())
                    return (moved, try await store.supplyInput(step, stepsDone: 1))
                }
            }
            var totals = (0, 0)
            for try await (moved, supplied) in group {
                totals.0 += moved ? 1 : 0
                totals.1 += supplied ? 1 : 0
            }
            return totals
        }
        #expect(resumed == 1)
        #expect(answered == 1)
        #expect(try await stores[1].steps(runID: "waits").count == 1)
        #expect(try await stores[1].run(id: "waits")?.status == .running)
        // The winner holds the run; the other replica cannot take it while the lease is live.
        let holder = try #require(try await stores[0].lease(of: "failed"))
        #expect(holder.live)
        let other = try #require(stores.first { $0.replicaID != holder.owner })
        #expect(try await other.claimExecution(of: "failed") == false)
        #expect(try await other.transition(id: "failed", from: [.running], to: .running, at: Date()) == false)
        await databaseA.shutdown()
        await databaseB.shutdown()
    }

    /// Two claimers over runs whose replica died: each run goes to exactly one of them; sub-workflow runs and
    /// finished runs are never claimed.
    @Test func twoClaimersSplitAbandonedRunsWithoutOverlap() async throws {
        let url = try await PostgresTestDatabase.create()
        let databases = [replicaDatabase(url), replicaDatabase(url), replicaDatabase(url)]
        let dead = try await Self.store(databases[0], "dead", lease: .seconds(1))
        let claimers = [try await Self.store(databases[1], "a"), try await Self.store(databases[2], "b")]
        let start = Date()
        for index in 0..<30 {
            try await dead.createRun(WorkflowRunRecord(id: "run-\(index)", workflow: "w", input: .null, createdAt: start + Double(index)))
        }
        try await dead.createRun(WorkflowRunRecord(id: "run-0.sub", workflow: "w", input: .null, createdAt: start))
        try await dead.createRun(WorkflowRunRecord(id: "done", workflow: "w", input: .null, createdAt: start))
        try await dead.finishRun(id: "done", status: .completed, output: nil, error: nil, at: start)
        // The dead replica's last heartbeat (creating the runs may take longer than a lease on a busy machine).
        #expect(try await dead.renewLeases(runIDs: (0..<30).map { "run-\($0)" }).count == 30)
        #expect(try await claimers[0].claimExpiredRuns(limit: 100).isEmpty, "the leases are live")
        try await Task.sleep(for: .milliseconds(1_300))
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for round in 0..<10 {
                let claimer = claimers[round % 2]
                group.addTask { try await claimer.claimExpiredRuns(limit: 4).map(\.id) }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        } + (try await claimers[0].claimExpiredRuns(limit: 100).map(\.id))
        #expect(claimed.count == 30, "no run claimed twice")
        #expect(Set(claimed) == Set((0..<30).map { "run-\($0)" }))
        #expect(try await claimers[1].claimExpiredRuns(limit: 100).isEmpty)
        #expect(try await dead.lease(of: "run-0.sub")?.owner == "dead")
        #expect(try await dead.lease(of: "done")?.owner == nil)
        for database in databases { await database.shutdown() }
    }

    /// A renewed lease holds; once renewals stop it expires by the database's clock and another replica takes
    /// the run; the first replica learns it lost it.
    @Test func leasesExpireAndAreTakenOver() async throws {
        let url = try await PostgresTestDatabase.create()
        let (databaseA, databaseB) = (replicaDatabase(url), replicaDatabase(url))
        let a = try await Self.store(databaseA, "a", lease: .seconds(2))
        let b = try await Self.store(databaseB, "b", lease: .seconds(2))
        try await a.createRun(WorkflowRunRecord(id: "r", workflow: "w", input: .null, createdAt: Date()))
        #expect(try await a.lease(of: "r")?.owner == "a")
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await a.renewLeases(runIDs: ["r", "unknown"]) == ["r"])
            #expect(try await b.claimExpiredRuns(limit: 10).isEmpty, "renewed every 300 ms, a 2 s lease stays live past 2 s")
            #expect(try await b.claimExecution(of: "r") == false)
        }
        try await Task.sleep(for: .milliseconds(2_300))
        #expect(try await a.lease(of: "r")?.live == false)
        #expect(try await b.claimExpiredRuns(limit: 10).map(\.id) == ["r"])
        #expect(try await b.lease(of: "r")?.owner == "b")
        #expect(try await a.renewLeases(runIDs: ["r"]).isEmpty, "a lost it")
        #expect(try await a.claimExecution(of: "r") == false)
        #expect(try await b.claimExecution(of: "r"))
        // Released (a graceful hand-over): claimable at once.
        try await b.releaseLeases(runIDs: ["r"])
        #expect(try await a.claimExpiredRuns(limit: 10).map(\.id) == ["r"])
        // Finished: nobody's, and never claimed again.
        try await a.finishRun(id: "r", status: .completed, output: nil, error: nil, at: Date())
        #expect(try await a.lease(of: "r")?.owner == nil)
        #expect(try await b.claimExecution(of: "r"), "not running: the engine reports it as it is")
        #expect(try await b.claimExpiredRuns(limit: 10).isEmpty)
        await databaseA.shutdown()
        await databaseB.shutdown()
    }

    /// NUL in TEXT: an id is refused with a 400; an error message (only shown) keeps the rest of its text.
    @Test func nulCharactersAreRefusedOrShown() async throws {
        let database = replicaDatabase(try await PostgresTestDatabase.create())
        let store = try await Self.store(database, "a")
        do {
            try await store.createRun(WorkflowRunRecord(id: "r\u{0}1", workflow: "w", input: .null, createdAt: Date()))
            Issue.record("a NUL id was accepted")
        } catch let error as SwitchyardError {
            #expect(error.status == 400 && error.message.contains("NUL"))
        }
        #expect(try await store.run(id: "r\u{0}1") == nil)
        try await store.createRun(WorkflowRunRecord(id: "r", workflow: "w", input: ["text": "a\u{0}b"], createdAt: Date()))
        try await store.finishRun(id: "r", status: .failed, output: nil, error: "bad byte \u{0} here", at: Date())
        let run = try #require(try await store.run(id: "r"))
        #expect(run.error == "bad byte \u{FFFD} here")
        #expect(run.input == ["text": "a\u{0}b"], "JSON escapes it")
        await database.shutdown()
    }

    /// Replica A dies mid-run (its lease is not renewed): replica B claims the run and resumes it from its
    /// checkpoints. The finished step is not run again; the step in flight runs again with the same idempotency key.
    @Test func anAbandonedRunIsResumedByAnotherReplica() async throws {
        let workflow = try WorkflowSpec.parse(
            JSONValue.parse(
                """
                {"name": "ticketing", "steps": [
                  {"id": "draft", "llm": {"model": "cheap", "prompt": "Draft: {{input}}"}},
                  {"id": "ticket", "tool": {"name": "desk__create", "arguments": {"title": "{{steps.draft.output}}"}}},
                  {"id": "final", "llm": {"model": "strong", "prompt": "Final: {{steps.ticket.output.ticket}}"}}
                ]}
                """) ?? .null)
        let url = try await PostgresTestDatabase.create()
        let (databaseA, databaseB) = (replicaDatabase(url), replicaDatabase(url))
        let storeA = try await Self.store(databaseA, "a", lease: .seconds(1))
        let storeB = try await Self.store(databaseB, "b", lease: .seconds(1))
        let runnerA = RecordingRunner(hangInTool: true)
        let runnerB = RecordingRunner(hangInTool: false)
        let engineA = WorkflowEngine(runner: runnerA, store: storeA, sleep: { _ in })
        let engineB = WorkflowEngine(runner: runnerB, store: storeB, sleep: { _ in })

        let run = try await engineA.start(workflow, input: .string("card lost"), runID: "wfr_1", callerID: "key_1")
        let executing = Task { try await engineA.execute(workflow, runID: run.id) }
        while await runnerA.toolKeys.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        // "kill -9": A stops in the middle of the tool call and never writes or renews again.
        // Its last heartbeat, then nothing.
        #expect(try await storeA.renewLeases(runIDs: [run.id]) == [run.id])
        executing.cancel()
        _ = try? await executing.value
        #expect(try await storeA.steps(runID: run.id).map(\.stepID) == ["draft"])
        #expect(try await storeB.claimExpiredRuns(limit: 10).isEmpty, "A's lease is still live")

        try await Task.sleep(for: .milliseconds(1_300))
        let claimed = try await storeB.claimExpiredRuns(limit: 10)
        #expect(claimed.map(\.id) == [run.id])
        #expect(try await storeB.claimExecution(of: run.id))
        let outcome = try await engineB.execute(workflow, runID: run.id)
        #expect(outcome.run.status == .completed)
        #expect(outcome.run.output == .string("[strong] Final: T-1"))
        #expect(await runnerA.models == ["cheap"])
        #expect(await runnerB.models == ["strong"], "the finished draft step did not run again")
        #expect(await runnerA.toolKeys == ["wfr_1/ticket"])
        #expect(await runnerB.toolKeys == ["wfr_1/ticket"], "the step in flight ran again under the same key")
        let steps = try await storeB.steps(runID: run.id)
        #expect(steps.map(\.stepID) == ["draft", "ticket", "final"])
        #expect(steps.allSatisfy { $0.status == .completed })
        #expect(try await storeB.run(id: run.id)?.stepsDone == 3)
        #expect(try await storeB.lease(of: run.id)?.owner == nil, "finished: nobody holds it")
        await databaseA.shutdown()
        await databaseB.shutdown()
    }
}

/// Answers model calls with `[model] prompt` and tool calls with a ticket; records both. With `hangInTool`, the
/// tool never answers (until cancelled): the replica "dies" there.
actor RecordingRunner: WorkflowStepRunner {
    let hangInTool: Bool
    private(set) var models: [String] = []
    private(set) var toolKeys: [String] = []

    init(hangInTool: Bool) { self.hangInTool = hangInTool }

    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult {
        models.append(model)
        return WorkflowCallResult(
            text: "[\(model)] " + messages.map(\.text).joined(separator: "\n"), costUSD: 0.01, usage: Usage(promptTokens: 3, completionTokens: 2))
    }

    func callTool(name: String, arguments: JSONValue, idempotencyKey: String) async throws -> WorkflowToolResult {
        toolKeys.append(idempotencyKey)
        if hangInTool { try await Task.sleep(for: .seconds(3600)) }
        return WorkflowToolResult(text: "created", structured: ["ticket": .string("T-\(toolKeys.count)")])
    }
}
