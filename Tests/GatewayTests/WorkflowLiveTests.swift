import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import Testing

@testable import Gateway

/// Workflows through the live server: as the model `workflow/NAME`, and through the runs API.
@Suite("Workflows, live", .serialized)
struct WorkflowLiveTests {
    // `[[echo]]` makes the mock answer with the prompt itself, so each step's output shows what it was given.
    static let extra = """
        workflows:
          - name: draft-and-check
            description: Three steps, each fed the last
            steps:
              - {id: draft, llm: {model: m-openai, prompt: "[[echo]] Answer briefly: {{input}}"}}
              - {id: review, llm: {model: m-anthropic, prompt: "[[echo]] Improve this answer: {{steps.draft.output}}"}}
              - {id: final, llm: {model: m-openai, prompt: "[[echo]] Format for the customer: {{steps.review.output}}"}}
          - name: over-budget
            max_cost_usd: 0.0000001
            steps:
              - {id: one, llm: {model: m-openai, prompt: "[[echo]] {{input}}"}}
              - {id: two, llm: {model: m-openai, prompt: "[[echo]] {{steps.one.output}}"}}
        """
    static let expected = "Format for the customer: Improve this answer: Answer briefly: why is the sky blue?"

    @Test func threeStepWorkflowAsAModel() async throws {
        try await LiveHarness.run(extra: Self.extra) { client, mock, _ in
            await mock.clearRecordedRequests()
            let answer = try await client.post("/v1/chat/completions", json: Body.chat("workflow/draft-and-check", "why is the sky blue?"))
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(answer.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == Self.expected)
            #expect(answer.json?["model"] == "workflow/draft-and-check")
            let runID = try #require(answer.header("x-switchyard-workflow-run"))
            #expect(runID.hasPrefix("wfr_"))
            // Three upstream calls, one per step, in order, to the steps' providers.
            let recorded = await mock.recordedRequests()
            #expect(recorded.map(\.protocolName) == ["openai", "anthropic", "openai"])
            // Usage and cost are the sums of the steps'.
            let run = try await client.get("/v1/switchyard/workflows/draft-and-check/runs/\(runID)")
            #expect(run.status == .ok, "\(run.text)")
            let steps = run.json?["steps"]?.arrayValue ?? []
            let stepCosts = steps.compactMap { $0["cost_usd"]?.doubleValue }
            #expect(stepCosts.count == 3 && stepCosts.allSatisfy { $0 > 0 })
            let cost = try #require(Double(answer.header("x-switchyard-cost-usd") ?? ""))
            #expect(abs(cost - stepCosts.reduce(0, +)) < 1e-9)
            let usage = answer.json?["usage"]
            #expect((usage?["prompt_tokens"]?.intValue ?? 0) > 0)
            #expect(usage?["prompt_tokens"] == run.json?["usage"]?["prompt_tokens"])
            // Each step is in the request log like any request.
            let log = try await client.get("/v1/switchyard/requests?limit=10")
            #expect(log.status == .ok)
        }
    }

    @Test func runsAPIShowsEveryStep() async throws {
        try await LiveHarness.run(extra: Self.extra) { client, _, _ in
            let list = try await client.get("/v1/switchyard/workflows")
            #expect(list.json?["data"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["draft-and-check", "over-budget"])

            let created = try await client.post("/v1/switchyard/workflows/draft-and-check/runs", json: #"{"input": "why is the sky blue?"}"#)
            #expect(created.status == .accepted, "\(created.text)")
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(created.json?["status"] == "running")

            var run = try await client.get("/v1/switchyard/workflows/draft-and-check/runs/\(id)")
            for _ in 0..<500 where run.json?["status"] == "running" {
                try await Task.sleep(for: .milliseconds(10))
                run = try await client.get("/v1/switchyard/workflows/draft-and-check/runs/\(id)")
            }
            #expect(run.json?["status"] == "completed", "\(run.text)")
            #expect(run.json?["output"]?.stringValue == Self.expected)
            let steps = run.json?["steps"]?.arrayValue ?? []
            #expect(steps.compactMap { $0["id"]?.stringValue } == ["draft", "review", "final"])
            #expect(steps.compactMap { $0["output"]?.stringValue } == [
                "Answer briefly: why is the sky blue?", "Improve this answer: Answer briefly: why is the sky blue?", Self.expected,
            ])
            #expect(steps.allSatisfy { $0["status"] == "completed" && $0["attempts"] == 1 && ($0["cost_usd"]?.doubleValue ?? 0) > 0 })
            let total = steps.compactMap { $0["cost_usd"]?.doubleValue }.reduce(0, +)
            #expect(abs((run.json?["cost_usd"]?.doubleValue ?? 0) - total) < 1e-12)

            // Unknown workflows and runs are 404s; another key cannot see the run.
            #expect(try await client.get("/v1/switchyard/workflows/nope/runs/\(id)").status == .notFound)
            #expect(try await client.get("/v1/switchyard/workflows/draft-and-check/runs/wfr_nope").status == .notFound)
            #expect(try await client.get("/v1/switchyard/workflows/draft-and-check/runs/\(id)", key: "sk-limited").status == .notFound)
            // A key whose models do not include workflow/NAME cannot start it.
            let refused = try await client.post(
                "/v1/switchyard/workflows/draft-and-check/runs", json: #"{"input": "x"}"#, key: "sk-limited")
            #expect(refused.status == .notFound)
            let bad = try await client.post("/v1/switchyard/workflows/draft-and-check/runs", json: #"{"inputs": "x"}"#)
            #expect(bad.status == .badRequest && bad.text.contains("inputs"))
        }
    }

    @Test func overBudgetRunFailsWithAClearError() async throws {
        try await LiveHarness.run(extra: Self.extra) { client, mock, _ in
            await mock.clearRecordedRequests()
            let answer = try await client.post("/v1/chat/completions", json: Body.chat("workflow/over-budget", "hello"))
            #expect(answer.status == .badGateway)
            #expect(answer.text.contains("max_cost_usd"), "\(answer.text)")
            #expect(answer.header("x-switchyard-workflow-run") != nil)
            #expect(await mock.recordedRequests().count == 1, "the second step never runs")
        }
    }

    @Test func streamedWorkflowReportsStepsThenTheAnswer() async throws {
        try await LiveHarness.run(extra: Self.extra) { client, _, _ in
            let answer = try await client.post(
                "/v1/chat/completions", json: Body.chat("workflow/draft-and-check", "why is the sky blue?", stream: true))
            #expect(answer.status == .ok)
            let comments = answer.text.split(separator: "\n").filter { $0.hasPrefix(": switchyard.workflow_step ") }
            #expect(comments.count == 3)
            #expect(comments.first?.contains(#""id":"draft""#) == true)
            let content = answer.events.compactMap { JSONValue.parse($0.data)?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(content == Self.expected)
            #expect(answer.text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func messagesAPIRunsWorkflowsStreamedAndNot() async throws {
        try await LiveHarness.run(extra: Self.extra) { client, _, _ in
            let version: HTTPFields = [HTTPField.Name("anthropic-version")!: "2023-06-01"]
            let answer = try await client.post(
                "/v1/messages", json: Body.messages("workflow/draft-and-check", "why is the sky blue?"), headers: version)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(answer.json?["content"]?.arrayValue?.first?["text"]?.stringValue == Self.expected)
            #expect(answer.json?["model"] == "workflow/draft-and-check")
            #expect((answer.json?["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
            #expect(answer.header("x-switchyard-workflow-run") != nil)

            let streamed = try await client.post(
                "/v1/messages", json: Body.messages("workflow/draft-and-check", "why is the sky blue?", stream: true), headers: version)
            #expect(streamed.status == .ok)
            #expect(streamed.text.split(separator: "\n").filter { $0.hasPrefix(": switchyard.workflow_step ") }.count == 3)
            let text = streamed.events.filter { $0.event == "content_block_delta" }
                .compactMap { JSONValue.parse($0.data)?["delta"]?["text"]?.stringValue }.joined()
            #expect(text == Self.expected)
            #expect(streamed.events.last?.event == "message_stop")
        }
    }
}
