import ArgumentParser
import Foundation
import SwitchyardCore

/// `switchyard workflow run NAME`: starts a run (the gateway answers 202 at once); with `--wait`, follows it to its
/// end, printing each step as it finishes.
struct WorkflowRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Start a run of a workflow; with --wait, follow it to its end (non-zero exit if it fails).")
    @OptionGroup var connection: GatewayConnection
    @Argument(help: "The workflow's name.")
    var name: String
    @OptionGroup var input: WorkflowInputOptions
    @OptionGroup var follow: WorkflowFollowOptions

    func validate() throws {
        try input.validate()
        try follow.validate()
    }

    func run() async throws {
        let client = connection.client
        let value = try input.value() ?? .null
        let started = try await client.call(.POST, WorkflowPaths.runs(name), body: .object(["input": value]))
        guard let id = started["id"]?.stringValue else {
            throw CommandFailure("The gateway's answer has no run id: \(started.jsonString().prefix(300))", .software)
        }
        guard follow.wait else {
            print(follow.json ? started.jsonString() : "started run \(id) of \(name) (\(started["status"]?.stringValue ?? "running"))\nsee it with: switchyard workflow show \(name) \(id)")
            return
        }
        if !follow.json { print("started run \(id) of \(name)") }
        try await WorkflowFollower(client: client, name: name, runID: id, options: follow).follow()
    }
}

/// `switchyard workflow resume NAME RUN_ID`: answers a run waiting at a `human` step, or restarts an interrupted or
/// failed run from its first unfinished step.
struct WorkflowResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Give a waiting run its input, or restart a failed or interrupted run from its first unfinished step.")
    @OptionGroup var connection: GatewayConnection
    @Argument(help: "The workflow's name.")
    var name: String
    @Argument(help: "The run's id (wfr_…).")
    var runID: String
    @OptionGroup var input: WorkflowInputOptions
    @OptionGroup var follow: WorkflowFollowOptions

    func validate() throws {
        try input.validate()
        try follow.validate()
    }

    func run() async throws {
        let client = connection.client
        let body = try input.value().map { JSONValue.object(["input": $0]) }
        // The steps recorded before the resume are not news: only what finishes from here on is printed.
        let before = follow.wait && !follow.json ? try await client.call(.GET, WorkflowPaths.run(name, runID)) : nil
        let resumed = try await client.call(.POST, WorkflowPaths.resume(name, runID), body: body)
        guard follow.wait else {
            print(follow.json ? resumed.jsonString() : "resumed run \(runID) of \(name) (\(resumed["status"]?.stringValue ?? "running"))")
            return
        }
        if !follow.json { print("resumed run \(runID) of \(name)") }
        try await WorkflowFollower(client: client, name: name, runID: runID, options: follow, printed: WorkflowFollower.seen(before)).follow()
    }
}

/// `--input`, `--input-json`, `--input-file`: at most one; none is a `null` input.
struct WorkflowInputOptions: ParsableArguments {
    @Option(help: "The input, as a string ({{input}} in the workflow's prompts).")
    var input: String?
    @Option(name: .customLong("input-json"), help: "The input as JSON (an object, for a workflow with input_schema).")
    var inputJSON: String?
    @Option(name: .customLong("input-file"), help: "A file whose text is the input, as a string (- reads standard input).")
    var inputFile: String?

    /// Inputs larger than this are refused here rather than by the gateway's body limit.
    static let maxFileBytes = 16 << 20

    func validate() throws {
        guard [input != nil, inputJSON != nil, inputFile != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("Give at most one of --input, --input-json and --input-file.")
        }
        if let inputJSON, JSONValue.parse(inputJSON) == nil {
            throw ValidationError("--input-json is not valid JSON: \(inputJSON.quotedPrefix(80))")
        }
    }

    /// The input to send, or nil when none was given.
    func value() throws -> JSONValue? {
        if let input { return .string(input) }
        if let inputJSON { return JSONValue.parse(inputJSON) }
        guard let inputFile else { return nil }
        let data: Data?
        if inputFile == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = FileManager.default.contents(atPath: inputFile)
        }
        guard let data else { throw CommandFailure("Cannot read --input-file '\(inputFile.quotedPrefix(200))'.", .notFound) }
        guard data.count <= Self.maxFileBytes else {
            throw CommandFailure("--input-file '\(inputFile.quotedPrefix(200))' has \(data.count) bytes; at most \(Self.maxFileBytes).", .dataError)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure("--input-file '\(inputFile.quotedPrefix(200))' is not UTF-8 text.", .dataError)
        }
        return .string(text)
    }
}

/// `--wait`, `--json`, `--timeout`, `--interval` for commands that start a run.
struct WorkflowFollowOptions: ParsableArguments {
    @Flag(help: "Follow the run until it is no longer running: each step as it finishes, then the output.")
    var wait = false
    @Flag(help: "Print JSON: the gateway's answer, or with --wait the finished run.")
    var json = false
    @Option(help: "With --wait, give up after this many seconds (the run goes on in the gateway).")
    var timeout: Double = 3600
    @Option(help: "With --wait, seconds between polls of the run.")
    var interval: Double = 0.2

    func validate() throws {
        guard timeout.isFinite, timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds.") }
        guard interval.isFinite, (0.01...60).contains(interval) else { throw ValidationError("--interval must be from 0.01 to 60 seconds.") }
    }
}

/// Polls a run until it stops running, printing each newly finished step once. A run that completes or waits for a
/// person ends it normally; a failed one is a failure (exit 1) naming the run and why.
struct WorkflowFollower {
    var client: GatewayClient
    var name: String
    var runID: String
    var options: WorkflowFollowOptions
    /// Steps not to print, as `id status`.
    var printed: Set<String> = []

    /// The steps of a run as `id status`, for `printed`.
    static func seen(_ run: JSONValue?) -> Set<String> {
        Set((run?["steps"]?.arrayValue ?? []).compactMap { step in
            guard let id = step["id"]?.stringValue, let status = step["status"]?.stringValue else { return nil }
            return "\(id) \(status)"
        })
    }

    func follow() async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64((options.timeout * 1000).rounded()))
        var printed = self.printed
        var run: JSONValue
        while true {
            run = try await client.call(.GET, WorkflowPaths.run(name, runID))
            if !options.json { printed = report(run, after: printed) }
            guard run["status"]?.stringValue == "running" else { break }
            guard ContinuousClock.now < deadline else {
                throw CommandFailure(
                    "Run \(runID) is still running after \(NumberText.plain(options.timeout)) s; it goes on in the gateway (switchyard workflow show \(name) \(runID)).",
                    .temporary)
            }
            try await Task.sleep(for: .milliseconds(Int64((options.interval * 1000).rounded())))
        }
        let status = run["status"]?.stringValue ?? "-"
        if options.json {
            print(run.jsonString())
        } else if status == "completed" {
            print("output: \(WorkflowRunText.short(run["output"] ?? .null, limit: 4000))")
            let done = run["steps_done"]?.intValue ?? 0
            print("completed: \(done) step\(done == 1 ? "" : "s") run, total cost $\(WorkflowRunText.money(run["cost_usd"]))")
        } else if status == "waiting", let step = run["steps"]?.arrayValue?.first(where: { $0["status"]?.stringValue == "waiting" }) {
            print(WorkflowRunText.waitingNote(run, step: step))
        }
        if status == "failed" {
            throw CommandFailure("Workflow run \(runID) failed: \(run["error"]?.stringValue ?? "no reason recorded")", .failure)
        }
    }

    /// Prints the steps of `run` not printed yet (a step failed before a resume is printed again when it completes);
    /// the steps printed so far, as `id status`.
    private func report(_ run: JSONValue, after printed: Set<String>) -> Set<String> {
        var printed = printed
        for step in run["steps"]?.arrayValue ?? [] {
            guard let id = step["id"]?.stringValue, let status = step["status"]?.stringValue, status != "waiting",
                printed.insert("\(id) \(status)").inserted
            else { continue }
            let attempts = step["attempts"]?.intValue ?? 0
            var line = "step \(id) \(status)"
            if status != "skipped" {
                line += String(format: " in %.1f ms", step["ms"]?.finiteDoubleValue ?? 0)
                line += ", \(attempts) attempt\(attempts == 1 ? "" : "s"), $\(WorkflowRunText.money(step["cost_usd"]))"
            }
            if let output = step["output"], output != .null { line += ": \(WorkflowRunText.short(output, limit: 100))" }
            print(line)
            if let error = step["error"]?.stringValue { print("    error: \(WorkflowRunText.flat(error, limit: 300))") }
        }
        return printed
    }
}
