import ArgumentParser
import Foundation
import Storage
import Synchronization
import SwitchyardCore
import Workflows

/// `switchyard bench workflow`: what the workflow engine adds to each step beyond the step's model call — the
/// templates, the bookkeeping and above all the checkpoint — with the checkpoints in memory and in SQLite, and
/// (unless `--skip-gateway`) what a one-step workflow costs through the gateway over the same chat completion.
struct BenchWorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Time the engine's overhead per step (in-memory vs SQLite checkpoints) and a step through the gateway.")

    @Option(help: "llm steps in the benchmark workflow (1-200).")
    var steps = 20
    @Option(help: "Timed runs per store in each pass.")
    var runs = 50
    @Option(help: "Passes; the stores alternate pass by pass, so both see the same moments of the machine.")
    var passes = 4
    @Option(help: "Calls of each kind through the gateway (direct completion, one-step workflow per store).")
    var gatewayCalls = 300
    @Flag(help: "Skip the measurement through the gateway.")
    var skipGateway = false

    func validate() throws {
        guard (1...WorkflowSpec.maxDeclaredSteps).contains(steps) else {
            throw ValidationError("--steps must be from 1 to \(WorkflowSpec.maxDeclaredSteps).")
        }
        guard (1...1_000_000).contains(runs), (1...1_000).contains(passes) else {
            throw ValidationError("--runs must be from 1 to 1000000 and --passes from 1 to 1000.")
        }
        guard (1...1_000_000).contains(gatewayCalls) else { throw ValidationError("--gateway-calls must be from 1 to 1000000.") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-bench-workflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        try await benchEngine(databasePath: directory.appendingPathComponent("engine.sqlite").path)
        if !skipGateway {
            print()
            try await benchGateway(databasePath: directory.appendingPathComponent("gateway.sqlite").path)
        }
    }

    private func benchEngine(databasePath: String) async throws {
        let spec = try Self.spec(steps: steps)
        let runner = InstantStepRunner()
        let sqlite = try WorkflowRunStore(path: databasePath)
        var benches = [
            EngineBench(label: "in-memory", engine: WorkflowEngine(runner: runner, store: InMemoryWorkflowCheckpointStore())),
            EngineBench(label: "SQLite (temp file)", engine: WorkflowEngine(runner: runner, store: sqlite)),
        ]
        // Warm-up, untimed: first allocations, the database's pages and statements.
        for index in benches.indices { try await benches[index].timedRun(spec, runner: runner, record: false) }
        let rows = try await Self.rowsWritten(spec, store: sqlite, runner: runner)
        var progress = BenchProgress("engine", total: passes * benches.count * runs, unit: "runs")
        for _ in 0..<passes {
            for index in benches.indices {
                for _ in 0..<runs {
                    try await benches[index].timedRun(spec, runner: runner, record: true)  // times itself; the tick is outside
                    progress.tick()
                }
            }
        }
        progress.finish()
        let counts = try await sqlite.rowCounts()
        let executedSteps = counts.runs * steps

        print("workflow engine: \(steps) llm steps a run, the model call answered instantly in-process; \(passes) passes × \(runs) runs per store, alternating")
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            // SQLite checkpoints are written by a thread at nice +10: on a busy machine they wait for a core.
            print("load average \(load.split(separator: " ").prefix(3).joined(separator: " ")) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        }
        print("".padding(44) + benches.map { $0.label.padding(20) }.joined())
        func row(_ label: String, _ values: [String]) { print(label.padding(44) + values.map { $0.padding(20) }.joined()) }
        row("per-step overhead p50 µs", benches.map { String(format: "%.1f", $0.stepOverhead.percentile(50)) })
        row("per-step overhead p99 µs", benches.map { String(format: "%.1f", $0.stepOverhead.percentile(99)) })
        row("per-run start + finish p50 µs", benches.map { String(format: "%.1f", $0.runFixed.percentile(50)) })
        row("runs/s (start to finish, one at a time)", benches.map { String(format: "%.0f", Double($0.runTimes.count) / ($0.runTimes.reduce(0, +) / 1e6)) })
        row("steps/s", benches.map { String(format: "%.0f", Double($0.runTimes.count * steps) / ($0.runTimes.reduce(0, +) / 1e6)) })
        row("model call (the instant runner) p50 µs", benches.map { String(format: "%.2f", $0.modelCall.percentile(50)) })
        row("rows written per step", ["0 (memory)", "\(rows.perStep.map { String($0) }.joined(separator: "/")) (\(rows.perStepNote))"])
        row("rows written per run besides its steps", ["0 (memory)", "\(rows.create) create + \(rows.finish) finish"])
        row("rows after the runs: workflow_steps / steps", ["-", String(format: "%d / %d = %.2f", counts.steps, executedSteps, Double(counts.steps) / Double(max(1, executedSteps)))])
    }

    /// The benchmark workflow: `steps` llm steps, each prompt reading the one before (as real chains do).
    static func spec(steps: Int, model: String = "bench-model") throws -> WorkflowSpec {
        let list: [JSONValue] = (1...steps).map { index in
            let prompt = index == 1 ? "Answer briefly: {{input}}" : "Improve this answer (pass \(index)): {{steps.s\(index - 1).output}}"
            return ["id": .string("s\(index)"), "llm": ["model": .string(model), "prompt": .string(prompt)]]
        }
        return try WorkflowSpec.parse(["name": "bench", "steps": .array(list)])
    }

    /// SQLite rows one run writes, phase by phase (SQLite's `total_changes()` read at each checkpoint of an untimed run).
    private static func rowsWritten(
        _ spec: WorkflowSpec, store: WorkflowRunStore, runner: InstantStepRunner
    ) async throws -> (create: Int, perStep: [Int], perStepNote: String, finish: Int) {
        let engine = WorkflowEngine(runner: runner, store: store)
        let marks = Samples<Int>()
        let before = try await store.totalChanges()
        let runID = "wfr_bench_rows"
        _ = try await engine.start(spec, input: "Why is the sky blue?", runID: runID)
        let afterStart = try await store.totalChanges()
        _ = try await engine.execute(spec, runID: runID) { _ in
            marks.append((try? await store.totalChanges()) ?? 0)
        }
        let afterRun = try await store.totalChanges()
        let stepMarks = marks.take()
        var perStep: [Int] = []
        var previous = afterStart
        for mark in stepMarks {
            perStep.append(mark - previous)
            previous = mark
        }
        let distinct = Array(Set(perStep)).sorted()
        let note = distinct == [2] ? "1 workflow_steps insert + 1 workflow_runs update" : "varies by step"
        return (afterStart - before, distinct, note, afterRun - previous)
    }
}

/// Answers every step at once with a fixed text, timing itself, so what remains of a step's time is the engine's.
struct InstantStepRunner: WorkflowStepRunner {
    let calls = Samples<Duration>()

    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult {
        let started = ContinuousClock.now
        let result = WorkflowCallResult(
            text: "The sky is blue because air scatters short wavelengths more.", costUSD: 0.000_001,
            usage: Usage(promptTokens: 24, completionTokens: 12))
        calls.append(ContinuousClock.now - started)
        return result
    }
}

/// Values noted from inside the engine's calls (the runner, `onStep`), in order; a class so closures can share it.
final class Samples<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    /// The values so far, emptying the list.
    func take() -> [Value] { values.withLock { taken in defer { taken = [] }; return taken } }
}

/// One store's engine and its samples, in µs.
struct EngineBench {
    var label: String
    var engine: WorkflowEngine
    var stepOverhead: [Double] = []
    var runFixed: [Double] = []
    var runTimes: [Double] = []
    var modelCall: [Double] = []
    private var counter = 0

    init(label: String, engine: WorkflowEngine) {
        self.label = label
        self.engine = engine
    }

    /// One run from start to finish. A step's overhead is the time from the previous checkpoint (or the start of
    /// `execute`) to its own checkpoint, less its model call.
    mutating func timedRun(_ spec: WorkflowSpec, runner: InstantStepRunner, record: Bool) async throws {
        counter += 1
        let runID = "wfr_bench_\(label.prefix(6))_\(counter)"
        let marks = Samples<ContinuousClock.Instant>()
        _ = runner.calls.take()
        let begin = ContinuousClock.now
        _ = try await engine.start(spec, input: "Why is the sky blue?", runID: runID)
        let executing = ContinuousClock.now
        let outcome = try await engine.execute(spec, runID: runID) { _ in marks.append(ContinuousClock.now) }
        let end = ContinuousClock.now
        guard outcome.run.status == .completed else { throw CommandFailure("benchmark run \(runID) did not complete: \(outcome.run.error ?? "-")", .software) }
        guard record else { return }
        let stepMarks = marks.take()
        let calls = runner.calls.take()
        var previous = executing
        for (index, mark) in stepMarks.enumerated() {
            let call = index < calls.count ? calls[index] : .zero
            stepOverhead.append((mark - previous - call).microseconds)
            modelCall.append(call.microseconds)
            previous = mark
        }
        runFixed.append((executing - begin).microseconds + (end - previous).microseconds)
        runTimes.append((end - begin).microseconds)
    }
}

extension Duration {
    var microseconds: Double { Double(components.seconds) * 1e6 + Double(components.attoseconds) / 1e12 }
}

extension Array where Element == Double {
    /// The `p`th percentile (nearest rank) of the samples; 0 with none.
    func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank))]
    }
}
