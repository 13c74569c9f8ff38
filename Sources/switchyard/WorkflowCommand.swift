import ArgumentParser
import Foundation
import SwitchyardCore

/// `switchyard workflow list|run|show|resume`: the declared workflows of a running gateway and their runs,
/// over the runs API (`/v1/switchyard/workflows…`).
struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow", abstract: "List workflows, start and follow runs, show a run, resume one.",
        subcommands: [List.self, WorkflowRunCommand.self, Show.self, WorkflowResumeCommand.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The workflows this key may run.")
        @OptionGroup var connection: GatewayConnection
        @Flag(help: "Print the gateway's JSON answer.")
        var json = false

        func run() async throws {
            let list = try await connection.client.call(.GET, "/v1/switchyard/workflows")
            if json {
                print(list.jsonString())
                return
            }
            let workflows = list["data"]?.arrayValue ?? []
            guard !workflows.isEmpty else {
                print("No workflows on this gateway (declare them under `workflows:` in its config).")
                return
            }
            for workflow in workflows {
                let steps = (workflow["steps"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " → ")
                var line = "\((workflow["name"]?.stringValue ?? "-").padding(24)) \(steps)"
                if let description = workflow["description"]?.stringValue { line += "  — \(WorkflowRunText.flat(description, limit: 100))" }
                print(line)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "A run's status, each step (attempts, time, cost, output), its output and total cost.")
        @OptionGroup var connection: GatewayConnection
        @Argument(help: "The workflow's name.")
        var name: String
        @Argument(help: "The run's id (wfr_…).")
        var runID: String
        @Flag(help: "Print the gateway's JSON answer.")
        var json = false

        func run() async throws {
            let run = try await connection.client.call(.GET, WorkflowPaths.run(name, runID))
            print(json ? run.jsonString() : WorkflowRunText.render(run))
        }
    }
}

/// Paths of the runs API, with the names and ids given on the command line escaped.
enum WorkflowPaths {
    static func runs(_ name: String) -> String { "/v1/switchyard/workflows/\(component(name))/runs" }
    static func run(_ name: String, _ id: String) -> String { runs(name) + "/\(component(id))" }
    static func resume(_ name: String, _ id: String) -> String { run(name, id) + "/resume" }
    static func anyRun(_ id: String) -> String { "/v1/switchyard/workflow-runs/\(component(id))" }

    static func component(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_", "."])) ?? text
    }
}

/// A run object of the runs API as text, for `workflow show`, `workflow run --wait` and `explain wfr_…`.
enum WorkflowRunText {
    /// Status, the steps as a table, the output and the total cost (and the error of a failed run).
    static func render(_ run: JSONValue, inputs: Bool = false) -> String {
        let id = run["id"]?.stringValue ?? "-"
        let workflow = run["workflow"]?.stringValue ?? "-"
        let status = run["status"]?.stringValue ?? "-"
        var lines = ["run \(id) of \(workflow): \(status)\(created(run).map { ", started \($0)" } ?? "")"]
        lines.append("input: \(short(run["input"] ?? .null, limit: 200))")
        let steps = run["steps"]?.arrayValue ?? []
        if !steps.isEmpty {
            lines.append("step".padding(16) + " " + "status".padding(10) + " " + "attempts".padding(8) + " " + "ms".padding(9) + " "
                + "cost_usd".padding(12) + " output")
            for step in steps {
                lines.append(stepRow(step))
                if inputs, let input = step["input"], input != .null { lines.append("    input: \(stepInput(input))") }
                if let error = step["error"]?.stringValue { lines.append("    error: \(flat(error, limit: 300))") }
            }
        }
        if let waiting = steps.first(where: { $0["status"]?.stringValue == "waiting" }) {
            lines.append(waitingNote(run, step: waiting))
        }
        if status == "completed" { lines.append("output: \(short(run["output"] ?? .null, limit: 400))") }
        lines.append("total cost: $\(money(run["cost_usd"]))" + (usage(run).map { ", \($0)" } ?? ""))
        if let error = run["error"]?.stringValue { lines.append("error: \(flat(error, limit: 500))") }
        return lines.joined(separator: "\n")
    }

    /// One step as a row: id, status, attempts, ms, cost and the start of its output.
    static func stepRow(_ step: JSONValue) -> String {
        let output = step["output"].map { short($0, limit: 60) } ?? "-"
        return (step["id"]?.stringValue ?? "-").padding(16) + " " + (step["status"]?.stringValue ?? "-").padding(10) + " "
            + String(step["attempts"]?.intValue ?? 0).padding(8) + " " + String(format: "%.1f", step["ms"]?.finiteDoubleValue ?? 0).padding(9)
            + " " + money(step["cost_usd"]).padding(12) + " " + output
    }

    /// How to answer a `human` step that waits for its input.
    static func waitingNote(_ run: JSONValue, step: JSONValue) -> String {
        let workflow = run["workflow"]?.stringValue ?? "NAME"
        let id = run["id"]?.stringValue ?? "RUN_ID"
        var note = "step '\(step["id"]?.stringValue ?? "-")' waits for a person's input"
        if let prompt = step["input"], prompt != .null { note += ": \(short(prompt, limit: 300))" }
        return note + "\nanswer it with: switchyard workflow resume \(workflow) \(id) --input TEXT"
    }

    /// What a step was asked: an `llm` step's messages as `role: text`, anything else (a parallel step's items,
    /// a waiting step's prompt) as a value.
    static func stepInput(_ input: JSONValue) -> String {
        guard let messages = input.arrayValue, !messages.isEmpty,
            messages.allSatisfy({ $0["role"]?.stringValue != nil && $0["content"]?.stringValue != nil })
        else { return short(input, limit: 300) }
        return messages.map { "\($0["role"]?.stringValue ?? "-"): \(short($0["content"] ?? .null, limit: 300))" }.joined(separator: " | ")
    }

    static func money(_ value: JSONValue?) -> String {
        String(format: "%.8f", value?.finiteDoubleValue ?? 0)
    }

    /// A value in one line: strings as they are, anything else as JSON, cut at `limit` characters.
    static func short(_ value: JSONValue, limit: Int) -> String {
        if case .string(let text) = value { return flat(text, limit: limit) }
        return flat(value.jsonString(), limit: limit)
    }

    static func flat(_ text: String, limit: Int) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }

    private static func created(_ run: JSONValue) -> String? {
        guard let seconds = run["created_at"]?.finiteDoubleValue else { return nil }
        return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }

    private static func usage(_ run: JSONValue) -> String? {
        guard let prompt = run["usage"]?["prompt_tokens"]?.intValue, let completion = run["usage"]?["completion_tokens"]?.intValue else {
            return nil
        }
        return "tokens \(prompt) in / \(completion) out"
    }
}
