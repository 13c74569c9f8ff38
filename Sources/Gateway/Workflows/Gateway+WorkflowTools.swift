import Evaluation
import Foundation
import SwitchyardCore
import Tools
import Workflows

/// Workflows as MCP tools on `/mcp`: `workflow__NAME`, for keys whose `tools` allow that name and whose `models`
/// allow `workflow/NAME`. A call runs the workflow to its end (or to a `human` step) and answers with its output.
extension Gateway {
    /// The prefix of a workflow's tool name.
    public static let workflowToolPrefix = "workflow__"

    func workflowTools(for caller: Caller) -> [ToolDescriptor] {
        availableWorkflows(for: caller).map { spec in
            let input: JSONValue = spec.inputSchema ?? ["type": "string", "description": "The workflow's input (its {{input}})."]
            return ToolDescriptor(
                name: Self.workflowToolPrefix + spec.name, server: "switchyard", originalName: spec.name, title: "Workflow \(spec.name)",
                description: (spec.description ?? "Runs the Switchyard workflow '\(spec.name)'")
                    + " (steps: \(spec.steps.map(\.id).prefix(20).joined(separator: ", "))). Returns its output, run id and cost.",
                inputSchema: ["type": "object", "properties": ["input": input], "required": ["input"]])
        }
    }

    /// The workflow a tool name stands for, if it is a configured workflow's tool.
    func workflowName(ofTool name: String) -> String? {
        guard name.hasPrefix(Self.workflowToolPrefix) else { return nil }
        let workflow = String(name.dropFirst(Self.workflowToolPrefix.count))
        return workflows[workflow] == nil ? nil : workflow
    }

    /// Runs the workflow as the caller; a failed run is the tool's error (for the caller to read), a run that
    /// waits for a person answers with the question and the run id to resume.
    func workflowToolCall(_ name: String, arguments: JSONValue?, context: CallContext) async throws -> ToolResult {
        guard let object = arguments?.objectValue, let input = object["input"] else {
            throw ToolError(.invalidArguments, "The workflow tool needs `input`.")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "input" }) {
            throw ToolError(.invalidArguments, "Unknown argument '\(unknown.quotedPrefix(64))'; a workflow tool takes `input`.")
        }
        let prepared: PreparedWorkflowRun
        do {
            prepared = try await prepareWorkflowRun(name, input: input, context: context)
        } catch let error as SwitchyardError {
            if error.status == 404 { throw ToolError(.notAllowed, "The workflow '\(name)' is not allowed for this key.") }
            throw ToolError(.invalidArguments, error.message)
        }
        let view = try await executeWorkflowRun(prepared, context: context)
        let run = view.run
        let structured: JSONValue = [
            "run_id": .string(run.id), "status": .string(run.status.rawValue), "output": run.output ?? .null,
            "cost_usd": .double(run.costUSD),
            "steps": .array(view.steps.map { ["id": .string($0.stepID), "status": .string($0.status.rawValue), "cost_usd": .double($0.costUSD)] }),
        ]
        switch run.status {
        case .completed:
            let text = switch run.output ?? .null {
            case .string(let text): text
            case let other: other.jsonString()
            }
            return ToolResult(content: [["type": "text", "text": .string(text)]], structuredContent: structured)
        case .waiting:
            let question = view.steps.last(where: { $0.status == .waiting }).map { Template.plain($0.input) } ?? ""
            let text = "The run \(run.id) waits for a person: \(question) (answer with POST /v1/switchyard/workflows/\(name)/runs/\(run.id)/resume)"
            return ToolResult(content: [["type": "text", "text": .string(text)]], structuredContent: structured)
        case .failed, .running:
            return ToolResult(
                content: [["type": "text", "text": .string("The workflow run \(run.id) failed: \(run.error ?? "it did not finish")")]],
                isError: true, structuredContent: structured)
        }
    }
}
