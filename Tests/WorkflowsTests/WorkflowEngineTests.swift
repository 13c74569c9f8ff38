import Foundation
import SwitchyardCore
import Testing
import Workflows

@Suite struct WorkflowEngineTests {
    static let threeSteps = """
        {"name": "draft-and-check", "steps": [
          {"id": "draft", "llm": {"model": "cheap", "prompt": "Answer briefly: {{input}}"}},
          {"id": "review", "llm": {"model": "strong", "prompt": "Improve this answer: {{steps.draft.output}}"}},
          {"id": "final", "llm": {"model": "cheap", "prompt": "Format for the customer: {{steps.review.output}}"}}
        ]}
        """

    @Test func runsStepsInOrderFeedingOutputsForward() async throws {
        let runner = ScriptedRunner { model, prompt in "[\(model): \(prompt)]" }
        let store = InMemoryWorkflowCheckpointStore()
        let workflow = try spec(Self.threeSteps)
        let engine = engine(runner, store: store)
        _ = try await engine.start(workflow, input: .string("why?"), runID: "r1")
        let outcome = try await engine.execute(workflow, runID: "r1")
        #expect(outcome.run.status == .completed)
        #expect(
            outcome.run.output
                == .string("[cheap: Format for the customer: [strong: Improve this answer: [cheap: Answer briefly: why?]]]"))
        #expect(outcome.steps.map(\.stepID) == ["draft", "review", "final"])
        #expect(outcome.steps.allSatisfy { $0.status == .completed && $0.attempts == 1 && $0.costUSD == 0.001 })
        #expect(abs(outcome.run.costUSD - 0.003) < 1e-12)
        #expect(outcome.usage.promptTokens == 30 && outcome.usage.completionTokens == 15)
        let stored = try #require(await store.run(id: "r1"))
        #expect(stored.status == .completed && stored.stepsDone == 3)
    }

    @Test func whenSkipsAStepAndRetriesRecover() async throws {
        let failures = Counter()
        let runner = ScriptedRunner { model, _ in
            if model == "flaky", failures.next() < 2 { throw ScriptError() }
            return model == "router" ? "no" : "ok from \(model)"
        }
        let workflow = try spec(
            """
            {"name": "w", "steps": [
              {"id": "gate", "llm": {"model": "router", "prompt": "escalate? {{input}}"}},
              {"id": "expensive", "when": "{{steps.gate.output}}", "llm": {"model": "big", "prompt": "x"}},
              {"id": "steady", "retry": {"attempts": 3, "backoff_ms": 5}, "llm": {"model": "flaky", "prompt": "y"}}
            ]}
            """)
        let engine = engine(runner)
        _ = try await engine.start(workflow, input: .string("q"), runID: "r")
        let outcome = try await engine.execute(workflow, runID: "r")
        #expect(outcome.run.status == .completed)
        #expect(outcome.steps.map(\.status) == [.completed, .skipped, .completed])
        #expect(outcome.steps[2].attempts == 3)
        #expect(await runner.calls(to: "big").isEmpty)
        #expect(outcome.run.output == .string("ok from flaky"))
    }

    /// The cascade escalates exactly the answers that fail their checks.
    @Test func validateEscalatesOnlyFailingAnswers() async throws {
        let workflow = try spec(
            """
            {"name": "cascade", "steps": [
              {"id": "draft", "llm": {"model": "cheap", "prompt": "{{input}}"}},
              {"id": "check", "validate": {"step": "draft", "assert": [{"type": "contains", "value": "ANSWER"}],
                                            "on_fail": {"retry": 1, "escalate": "strong"}}}
            ]}
            """)
        // The cheap model answers properly only questions that start with "easy".
        let runner = ScriptedRunner { model, prompt in
            model == "strong" || prompt.hasPrefix("easy") ? "ANSWER to \(prompt)" : "dunno"
        }
        let engine = engine(runner)
        let questions = ["easy one", "hard one", "easy two", "hard two"]
        for (index, question) in questions.enumerated() {
            _ = try await engine.start(workflow, input: .string(question), runID: "r\(index)")
            let outcome = try await engine.execute(workflow, runID: "r\(index)")
            #expect(outcome.run.status == .completed)
            #expect(outcome.run.output == .string("ANSWER to \(question)"))
        }
        #expect(await runner.calls(to: "strong").map(\.prompt) == ["hard one", "hard two"])
        // Each hard question: the draft, one retry of the cheap model, then the escalation.
        #expect(await runner.calls(to: "cheap").count == 2 + 2 * 2)
    }

    @Test func validateFailsWhenEvenTheEscalationFails() async throws {
        let workflow = try spec(
            """
            {"name": "cascade", "steps": [
              {"id": "draft", "llm": {"model": "cheap", "prompt": "{{input}}"}},
              {"id": "check", "validate": {"step": "draft", "assert": [{"type": "equals", "value": "42"}], "on_fail": {"escalate": "strong"}}}
            ]}
            """)
        let engine = engine(ScriptedRunner { _, _ in "41" })
        _ = try await engine.start(workflow, input: .string("q"), runID: "r")
        let outcome = try await engine.execute(workflow, runID: "r")
        #expect(outcome.run.status == .failed)
        #expect(outcome.run.error?.contains("step 'check'") == true)
        #expect(outcome.steps.last?.status == .failed)
        #expect(abs((outcome.steps.last?.costUSD ?? 0) - 0.001) < 1e-12, "the escalation's cost is counted though it failed")
    }

    @Test func parallelHoldsItsConcurrencyLimit() async throws {
        let workflow = try spec(
            """
            {"name": "map", "steps": [
              {"id": "each", "parallel": {"over": "{{input.items}}", "concurrency": 3,
                                           "step": {"llm": {"model": "m", "prompt": "{{index}}={{item}}"}}}}
            ]}
            """)
        let runner = ScriptedRunner(delay: .milliseconds(20)) { _, prompt in prompt.uppercased() }
        let engine = engine(runner)
        let items = (0..<10).map { JSONValue.string("x\($0)") }
        _ = try await engine.start(workflow, input: .object(["items": .array(items)]), runID: "r")
        let outcome = try await engine.execute(workflow, runID: "r")
        #expect(outcome.run.status == .completed)
        #expect(outcome.run.output == .array((0..<10).map { .string("\($0)=X\($0)") }))
        #expect(await runner.peakInFlight == 3)
        #expect(await runner.calls.count == 10)
        #expect(abs(outcome.run.costUSD - 0.01) < 1e-12)
    }

    @Test func classifyGivesALabel() async throws {
        let workflow = try spec(
            """
            {"name": "c", "output": "{{steps.kind.output.label}}", "steps": [
              {"id": "kind", "classify": {"model": "m", "labels": {"billing": "money", "tech": "bugs"}}}
            ]}
            """)
        let engine = engine(ScriptedRunner { _, prompt in prompt.contains("refund") ? "Billing." : "tech" })
        _ = try await engine.start(workflow, input: .string("I want a refund"), runID: "r")
        #expect(try await engine.execute(workflow, runID: "r").run.output == .string("billing"))
    }

    @Test func stopsAtMaxCost() async throws {
        let workflow = try spec(
            """
            {"name": "pricey", "max_cost_usd": 0.015, "steps": [
              {"id": "a", "llm": {"model": "m", "prompt": "1"}},
              {"id": "b", "llm": {"model": "m", "prompt": "2"}},
              {"id": "c", "llm": {"model": "m", "prompt": "3"}}
            ]}
            """)
        let runner = ScriptedRunner(costPerCall: 0.01) { _, _ in "ok" }
        let engine = engine(runner)
        _ = try await engine.start(workflow, input: .string("q"), runID: "r")
        let outcome = try await engine.execute(workflow, runID: "r")
        #expect(outcome.run.status == .failed)
        #expect(outcome.run.error?.contains("max_cost_usd of $0.015") == true, "\(outcome.run.error ?? "")")
        #expect(outcome.run.error?.contains("after step 'b'") == true)
        #expect(await runner.calls.count == 2, "step c never runs")
    }

    /// A crash after step 1 was checkpointed: the run resumes at step 2 and never calls step 1's model again.
    @Test func resumesAfterACrashWithoutRerunningFinishedSteps() async throws {
        let workflow = try spec(Self.threeSteps)
        let store = InMemoryWorkflowCheckpointStore()
        let created = Date(timeIntervalSinceNow: -5)
        try await store.createRun(WorkflowRunRecord(id: "r", workflow: workflow.name, input: .string("why?"), createdAt: created))
        try await store.recordStep(
            WorkflowStepRecord(
                runID: "r", stepID: "draft", status: .completed, output: .string("DRAFT"), costUSD: 0.5, promptTokens: 7,
                completionTokens: 3, attempts: 1, startedAt: created, finishedAt: created),
            runCostUSD: 0.5, stepsDone: 1)
        let runner = ScriptedRunner { model, prompt in "[\(model): \(prompt)]" }
        let outcome = try await engine(runner, store: store).execute(workflow, runID: "r")
        #expect(outcome.run.status == .completed)
        #expect(await runner.calls.map(\.model) == ["strong", "cheap"])
        #expect(await runner.calls.first?.prompt == "Improve this answer: DRAFT")
        #expect(abs(outcome.run.costUSD - 0.502) < 1e-12, "cost accumulates across the resume")
        #expect(outcome.usage.promptTokens == 27)
        #expect(try await store.run(id: "r")?.stepsDone == 3)
    }

    @Test func limitsHoldAcrossResumes() async throws {
        let workflow = try spec(
            """
            {"name": "w", "max_steps": 1, "steps": [
              {"id": "a", "llm": {"model": "m", "prompt": "1"}}, {"id": "b", "llm": {"model": "m", "prompt": "2"}}
            ]}
            """)
        let store = InMemoryWorkflowCheckpointStore()
        try await store.createRun(WorkflowRunRecord(id: "r", workflow: "w", input: .null, createdAt: Date()))
        try await store.recordStep(
            WorkflowStepRecord(runID: "r", stepID: "a", status: .completed, output: .string("A"), startedAt: Date(), finishedAt: Date()),
            runCostUSD: 0, stepsDone: 1)
        let runner = ScriptedRunner { _, _ in "B" }
        let outcome = try await engine(runner, store: store).execute(workflow, runID: "r")
        #expect(outcome.run.status == .failed)
        #expect(outcome.run.error?.contains("max_steps") == true)
        #expect(await runner.calls.isEmpty)
    }

    @Test func timeoutStopsAStepInFlight() async throws {
        let workflow = try spec(#"{"name": "slow", "timeout_s": 0.05, "steps": [{"id": "a", "llm": {"model": "m", "prompt": "1"}}]}"#)
        let engine = engine(ScriptedRunner(delay: .seconds(10)) { _, _ in "late" })
        _ = try await engine.start(workflow, input: .null, runID: "r")
        let outcome = try await engine.execute(workflow, runID: "r")
        #expect(outcome.run.status == .failed)
        #expect(outcome.run.error?.contains("timeout_s") == true)
    }

    @Test func refusesInputThatBreaksTheSchema() async throws {
        let workflow = try spec(
            #"{"name": "w", "input_schema": {"type": "object", "required": ["city"]}, "steps": [{"id": "a", "llm": {"model": "m", "prompt": "{{input.city}}"}}]}"#)
        let engine = engine(ScriptedRunner { _, _ in "x" })
        await #expect(throws: WorkflowRunError.self) { try await engine.start(workflow, input: .object(["town": .string("x")]), runID: "r") }
        _ = try await engine.start(workflow, input: .object(["city": .string("Oslo")]), runID: "ok")
    }

    @Test func structuredOutputIsJSONForLaterSteps() async throws {
        let workflow = try spec(
            """
            {"name": "w", "steps": [
              {"id": "plan", "llm": {"model": "m", "prompt": "plan", "output_schema": {"type": "object", "required": ["topic"]}}},
              {"id": "write", "llm": {"model": "m", "prompt": "Write about {{steps.plan.output.topic}}"}}
            ]}
            """)
        let engine = engine(ScriptedRunner { _, prompt in prompt == "plan" ? "```json\n{\"topic\": \"owls\"}\n```" : prompt })
        _ = try await engine.start(workflow, input: .null, runID: "r")
        let outcome = try await engine.execute(workflow, runID: "r")
        #expect(outcome.steps.first?.output == .object(["topic": .string("owls")]))
        #expect(outcome.run.output == .string("Write about owls"))
    }
}

/// A thread-safe counter for scripted answers.
final class Counter: @unchecked Sendable {
    // Safe: every access holds the lock.
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.withLock {
            defer { value += 1 }
            return value
        }
    }
}
