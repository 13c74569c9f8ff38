import Foundation
import SwitchyardCore
import Testing
import Workflows

/// A runner for the non-model step kinds: scripted passages, a tool that records its calls and can fail, and a
/// bag-of-words "embedding" (one dimension per known word) so the nearest label is predictable.
actor KindsRunner: WorkflowStepRunner {
    struct ToolCall: Sendable, Hashable {
        var name: String
        var arguments: JSONValue
        var key: String
    }
    private(set) var toolCalls: [ToolCall] = []
    private(set) var completions: [String] = []
    var toolFailures = 0
    let vocabulary = ["card", "lost", "stolen", "fee", "charge", "weather", "pizza", "transfer"]

    func failTool(times: Int) { toolFailures = times }

    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult {
        let prompt = messages.map(\.text).joined(separator: "\n")
        completions.append(prompt)
        return WorkflowCallResult(text: "\(model) says: \(prompt)", costUSD: 0.01, usage: Usage(promptTokens: 4, completionTokens: 2))
    }

    func retrieve(collection: String, query: String, topK: Int, mode: String?) async throws -> [WorkflowPassage] {
        Array([
            WorkflowPassage(documentID: "fees", title: "Fees", source: "kb/fees.md", score: 0.9, text: "Transfers cost 1 EUR."),
            WorkflowPassage(documentID: "cards", score: 0.5, text: "Lost cards are blocked at once."),
        ].prefix(topK))
    }

    func callTool(name: String, arguments: JSONValue, idempotencyKey: String) async throws -> WorkflowToolResult {
        toolCalls.append(ToolCall(name: name, arguments: arguments, key: idempotencyKey))
        if toolFailures > 0 {
            toolFailures -= 1
            return WorkflowToolResult(text: "ticket system busy", isError: true)
        }
        return WorkflowToolResult(text: "created", structured: ["ticket": .string("T-\(toolCalls.count)")])
    }

    nonisolated func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map { text in
            let words = text.lowercased().split(whereSeparator: { !$0.isLetter })
            return vocabulary.map { word in Float(words.filter { $0 == word }.count) }
        }
    }
}

@Suite struct WorkflowStepKindsTests {
    private func run(_ workflow: WorkflowSpec, input: JSONValue, runner: KindsRunner, store: any WorkflowCheckpointStore = InMemoryWorkflowCheckpointStore(), id: String = "r")
        async throws -> WorkflowEngine.Outcome
    {
        var engine = WorkflowEngine(runner: runner, store: store, sleep: { _ in })
        engine.resolveWorkflow = { _ in nil }
        _ = try await engine.start(workflow, input: input, runID: id)
        return try await engine.execute(workflow, runID: id)
    }

    @Test func retrieveNumbersPassagesForTheNextPrompt() async throws {
        let workflow = try spec(
            """
            {"name": "w", "steps": [
              {"id": "kb", "retrieve": {"collection": "help", "query": "{{input}}", "top_k": 2}},
              {"id": "answer", "llm": {"model": "m", "prompt": "Use:\\n{{steps.kb.output.text}}\\nQ: {{input}}"}}
            ]}
            """)
        let runner = KindsRunner()
        let outcome = try await run(workflow, input: .string("fees?"), runner: runner)
        #expect(outcome.run.status == .completed)
        #expect(outcome.steps[0].output?["passages"]?.arrayValue?.count == 2)
        #expect(await runner.completions == ["Use:\n[1] Fees — kb/fees.md\nTransfers cost 1 EUR.\n\n[2] cards\nLost cards are blocked at once.\nQ: fees?"])
    }

    /// A tool step's key is RUN/STEP on every attempt, so a server can tell a retry from a new call.
    @Test func toolStepRetriesWithTheSameIdempotencyKey() async throws {
        let workflow = try spec(
            """
            {"name": "w", "steps": [
              {"id": "open", "retry": {"attempts": 3}, "tool": {"name": "desk__create", "arguments": {"title": "{{input.title}}", "tags": ["{{input.tag}}"], "raw": "{{input}}"}}}
            ]}
            """)
        let runner = KindsRunner()
        await runner.failTool(times: 2)
        let input: JSONValue = ["title": "Card lost", "tag": "urgent"]
        let outcome = try await run(workflow, input: input, runner: runner, id: "run-7")
        #expect(outcome.run.status == .completed)
        #expect(outcome.run.output == ["ticket": "T-3"])
        let calls = await runner.toolCalls
        #expect(calls.count == 3)
        #expect(Set(calls.map(\.key)) == ["run-7/open"])
        #expect(calls[0].arguments == ["title": "Card lost", "tags": ["urgent"], "raw": input], "a lone {{path}} passes the value itself")
        #expect(outcome.steps[0].attempts == 3)
    }

    @Test func toolErrorFailsTheStepAfterItsAttempts() async throws {
        let workflow = try spec(#"{"name": "w", "steps": [{"id": "open", "tool": {"name": "desk__create"}}]}"#)
        let runner = KindsRunner()
        await runner.failTool(times: 5)
        let outcome = try await run(workflow, input: .null, runner: runner)
        #expect(outcome.run.status == .failed)
        #expect(outcome.run.error?.contains("ticket system busy") == true)
    }

    /// A human step stops the run `waiting` with its question recorded; once the store has the answer the run goes on
    /// from there, without running the steps before it again.
    @Test func humanStepWaitsAndResumesWithTheAnswer() async throws {
        let workflow = try spec(
            """
            {"name": "approve", "steps": [
              {"id": "draft", "llm": {"model": "m", "prompt": "Refund {{input}}?"}},
              {"id": "ok", "human": {"prompt": "Approve: {{steps.draft.output}}"}},
              {"id": "send", "when": "{{steps.ok.output.approved}}", "llm": {"model": "m", "prompt": "Send refund, note: {{steps.ok.output.note}}"}}
            ]}
            """)
        let runner = KindsRunner()
        let store = InMemoryWorkflowCheckpointStore()
        let first = try await run(workflow, input: .string("order 9"), runner: runner, store: store)
        #expect(first.run.status == .waiting)
        let question = try #require(first.steps.last)
        #expect(question.status == .waiting && question.stepID == "ok")
        #expect(question.input == .string("Approve: m says: Refund order 9?"))
        #expect(try await store.run(id: "r")?.status == .waiting)
        // Executing it again without an answer changes nothing.
        let engine = WorkflowEngine(runner: runner, store: store, sleep: { _ in })
        #expect(try await engine.execute(workflow, runID: "r").run.status == .waiting)
        #expect(await runner.completions.count == 1)

        var answered = question
        answered.status = .completed
        answered.output = ["approved": true, "note": "goodwill"]
        #expect(try await store.supplyInput(answered, stepsDone: 2))
        #expect(try await store.supplyInput(answered, stepsDone: 2) == false, "a second answer is refused")
        let done = try await engine.execute(workflow, runID: "r")
        #expect(done.run.status == .completed)
        #expect(done.run.output == .string("m says: Send refund, note: goodwill"))
        #expect(await runner.completions.count == 2, "the draft step did not run again")
    }

    @Test func subWorkflowIsItsOwnRunAndItsCostCounts() async throws {
        let child = try spec(
            """
            {"name": "summarize", "steps": [
              {"id": "a", "llm": {"model": "m", "prompt": "short: {{input}}"}},
              {"id": "b", "llm": {"model": "m", "prompt": "shorter: {{steps.a.output}}"}}
            ]}
            """)
        let parent = try spec(
            """
            {"name": "outer", "steps": [
              {"id": "sum", "workflow": {"name": "summarize", "input": "{{input}}!"}},
              {"id": "final", "llm": {"model": "m", "prompt": "final: {{steps.sum.output}}"}}
            ]}
            """)
        let runner = KindsRunner()
        let store = InMemoryWorkflowCheckpointStore()
        var engine = WorkflowEngine(runner: runner, store: store, sleep: { _ in })
        engine.resolveWorkflow = { $0 == "summarize" ? child : nil }
        _ = try await engine.start(parent, input: .string("text"), runID: "p")
        let outcome = try await engine.execute(parent, runID: "p")
        #expect(outcome.run.status == .completed)
        #expect(outcome.run.output == .string("m says: final: m says: shorter: m says: short: text!"))
        #expect(abs(outcome.steps[0].costUSD - 0.02) < 1e-12, "the sub-run's two calls")
        #expect(abs(outcome.run.costUSD - 0.03) < 1e-12)
        #expect(outcome.usage.promptTokens == 12)
        let sub = try #require(try await store.run(id: "p.sum"))
        #expect(sub.workflow == "summarize" && sub.status == .completed && sub.stepsDone == 2)
    }

    @Test func classifyByEmbeddingPicksTheNearestLabelOrOtherwise() async throws {
        let workflow = try spec(
            """
            {"name": "triage", "steps": [
              {"id": "route", "classify": {"method": "embedding",
                 "labels": {"urgent": "lost or stolen card", "routine": "fee or charge on a transfer"},
                 "examples": {"urgent": ["my card was stolen", "lost card"]},
                 "min_score": 0.5, "otherwise": "person"}}
            ]}
            """)
        let runner = KindsRunner()
        let urgent = try await run(workflow, input: .string("I lost my card yesterday"), runner: runner, id: "1")
        #expect(urgent.run.output?["label"] == .string("urgent"))
        let routine = try await run(workflow, input: .string("why this fee on my transfer"), runner: runner, id: "2")
        #expect(routine.run.output?["label"] == .string("routine"))
        let other = try await run(workflow, input: .string("order a pizza"), runner: runner, id: "3")
        #expect(other.run.output?["label"] == .string("person"))
        #expect(await runner.completions.isEmpty, "no model is called")
    }
}
