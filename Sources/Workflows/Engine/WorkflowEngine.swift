import Evaluation
import Foundation
import SwitchyardCore

/// Runs workflows step by step, checkpointing each finished step, so a run that was interrupted resumes from the
/// first unfinished step and never repeats a finished one. The limits (`max_cost_usd`, `max_steps`, `timeout_s`)
/// are held to the totals in the store, so they hold across resumes.
public struct WorkflowEngine: Sendable {
    public var runner: any WorkflowStepRunner
    public var store: any WorkflowCheckpointStore
    /// Wall time (runs' deadlines are wall-clock, as they outlive the process).
    public var now: @Sendable () -> Date
    /// Waits between retries (injected so tests do not wait).
    public var sleep: @Sendable (Duration) async throws -> Void
    /// The workflows a `workflow` step may run, by name.
    public var resolveWorkflow: @Sendable (String) -> WorkflowSpec? = { _ in nil }
    /// Label centroids of `classify` steps by embedding, computed once per parsed spec.
    public var centroids: ClassifierCentroids = ClassifierCentroids()
    /// How deep in sub-workflows this engine runs (a runaway nesting stops at `maxDepth`).
    var depth = 0
    static let maxDepth = 8

    public init(
        runner: any WorkflowStepRunner, store: any WorkflowCheckpointStore, now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.runner = runner
        self.store = store
        self.now = now
        self.sleep = sleep
    }

    /// What a run came to.
    public struct Outcome: Sendable {
        public var run: WorkflowRunRecord
        public var steps: [WorkflowStepRecord]
        /// The tokens of every step, including those finished before a resume.
        public var usage: Usage
        /// Why the run stopped, when it failed in this execution.
        public var failure: WorkflowRunError? = nil
    }

    /// Checks the input against the spec's schema and records a new run (not yet executed).
    public func start(_ spec: WorkflowSpec, input: JSONValue, runID: String, callerID: String? = nil) async throws -> WorkflowRunRecord {
        if let schema = spec.inputSchema {
            let text = input.jsonString()
            let verdict = await AssertionGrader.grade(
                Assertion(type: "is-json", value: schema), context: AssertionContext(output: text, response: EvalResponse(output: text)))
            guard verdict.pass else {
                throw WorkflowRunError(.invalidInput, "workflow '\(spec.name)': the input does not meet input_schema: \(verdict.reason)")
            }
        }
        let run = WorkflowRunRecord(id: runID, workflow: spec.name, input: input, createdAt: now(), callerID: callerID)
        try await store.createRun(run)
        return run
    }

    /// Runs (or resumes) a recorded run to its end and records how it ended. Steps already recorded as finished are
    /// not run again; their outputs are read from the store. A run that has already ended is returned as it is.
    /// `onStep` hears of each step once it is checkpointed (streams report steps as they finish).
    public func execute(
        _ spec: WorkflowSpec, runID: String, onStep: (@Sendable (WorkflowStepRecord) async -> Void)? = nil
    ) async throws -> Outcome {
        guard var run = try await store.run(id: runID) else {
            throw WorkflowRunError(.notFound, "no workflow run '\(runID.prefix(80))'")
        }
        var records = try await store.steps(runID: runID)
        var runFailure: WorkflowRunError?
        guard run.status == .running || run.status == .waiting else {
            return Outcome(run: run, steps: records, usage: Self.usage(of: records))
        }
        var finished: [String: WorkflowStepRecord] = [:]
        for record in records where record.status.isFinished { finished[record.stepID] = record }
        var outputs: [String: JSONValue] = [:]
        var cost = run.costUSD
        var stepsDone = run.stepsDone
        var lastOutput: JSONValue = .null
        do {
            for step in spec.steps {
                if let done = finished[step.id] {
                    outputs[step.id] = done.output ?? .null
                    lastOutput = done.output ?? .null
                    continue
                }
                try checkLimits(spec, cost: cost, stepsDone: stepsDone, createdAt: run.createdAt)
                let vars = Self.vars(input: run.input, outputs: outputs)
                let started = now()
                if let when = step.when, !WorkflowTemplate.holds(when, vars: vars) {
                    let record = WorkflowStepRecord(runID: runID, stepID: step.id, status: .skipped, startedAt: started, finishedAt: started)
                    try await store.recordStep(record, runCostUSD: cost, stepsDone: stepsDone)
                    records.append(record)
                    await onStep?(record)
                    outputs[step.id] = .null
                    lastOutput = .null
                    continue
                }
                if case .human(let human) = step.kind {
                    // A person's answer is needed: record the question (once) and stop, `waiting`, until resume.
                    if !records.contains(where: { $0.stepID == step.id && $0.status == .waiting }) {
                        let question = WorkflowStepRecord(
                            runID: runID, stepID: step.id, status: .waiting, input: .string(WorkflowTemplate.render(human.prompt, vars: vars)),
                            startedAt: started, finishedAt: started)
                        try await store.recordStep(question, runCostUSD: cost, stepsDone: stepsDone)
                        records.append(question)
                        await onStep?(question)
                    }
                    try await store.finishRun(id: runID, status: .waiting, output: nil, error: nil, at: now())
                    run.status = .waiting
                    run.costUSD = cost
                    run.stepsDone = stepsDone
                    return Outcome(run: run, steps: records, usage: Self.usage(of: records))
                }
                let meter = StepMeter(runID: runID, stepID: step.id)
                let current = run
                var attempts = 0
                var result: StepResult?
                var failure: (any Error)?
                while attempts < step.retry.attempts {
                    attempts += 1
                    do {
                        result = try await withDeadline(spec, createdAt: run.createdAt) {
                            try await self.perform(step, spec: spec, run: current, vars: vars, meter: meter)
                        }
                        break
                    } catch let error as WorkflowRunError where error.code == .timeout {
                        failure = error
                        break
                    } catch {
                        // Shutting down (or the caller went away): leave the step unrecorded and the run `running`,
                        // so it resumes from this step rather than failing.
                        if Task.isCancelled { throw CancellationError() }
                        failure = error
                        if attempts < step.retry.attempts, step.retry.backoffMs > 0 {
                            let factor = 1 << min(attempts - 1, 10)
                            try await sleep(.milliseconds(step.retry.backoffMs.multipliedReportingOverflow(by: factor).partialValue))
                        }
                    }
                }
                let spent = await meter.totals
                cost += spent.costUSD
                let finishedAt = now()
                var record = WorkflowStepRecord(
                    runID: runID, stepID: step.id, status: result == nil ? .failed : .completed, input: result?.input ?? .null,
                    output: result?.output, costUSD: spent.costUSD, promptTokens: spent.usage.promptTokens,
                    completionTokens: spent.usage.completionTokens, ms: finishedAt.timeIntervalSince(started) * 1000, attempts: attempts,
                    startedAt: started, finishedAt: finishedAt)
                guard let result else {
                    let message = "step '\(step.id)' failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(failure.map(Self.describe) ?? "unknown error")"
                    record.error = message
                    try await store.recordStep(record, runCostUSD: cost, stepsDone: stepsDone)
                    records.removeAll { $0.stepID == step.id }
                    records.append(record)
                    await onStep?(record)
                    if let timeout = failure as? WorkflowRunError, timeout.code == .timeout { throw timeout }
                    throw WorkflowRunError(.stepFailed, "workflow '\(spec.name)': \(message)", stepError: failure as? SwitchyardError)
                }
                stepsDone += 1
                try await store.recordStep(record, runCostUSD: cost, stepsDone: stepsDone)
                records.removeAll { $0.stepID == step.id }
                records.append(record)
                await onStep?(record)
                outputs[step.id] = result.output
                lastOutput = result.output
                if let limit = spec.maxCostUSD, cost > limit {
                    throw WorkflowRunError(
                        .costLimit, "workflow '\(spec.name)': stopped after step '\(step.id)': the run has cost $\(NumberText.plain(cost)), over its max_cost_usd of $\(NumberText.plain(limit))")
                }
            }
            let output = spec.output.map { WorkflowTemplate.value($0, vars: Self.vars(input: run.input, outputs: outputs)) } ?? lastOutput
            try await store.finishRun(id: runID, status: .completed, output: output, error: nil, at: now())
            run.status = .completed
            run.output = output
        } catch let error as WorkflowRunError {
            try await store.finishRun(id: runID, status: .failed, output: nil, error: error.message, at: now())
            run.status = .failed
            run.error = error.message
            runFailure = error
        }
        run.costUSD = cost
        run.stepsDone = stepsDone
        return Outcome(run: run, steps: records, usage: Self.usage(of: records), failure: runFailure)
    }

    /// Limits checked before each step, from the totals recorded so far.
    func checkLimits(_ spec: WorkflowSpec, cost: Double, stepsDone: Int, createdAt: Date) throws(WorkflowRunError) {
        if let limit = spec.maxCostUSD, cost >= limit {
            throw WorkflowRunError(
                .costLimit, "workflow '\(spec.name)': the run has cost $\(NumberText.plain(cost)), which reaches its max_cost_usd of $\(NumberText.plain(limit)); no further step runs")
        }
        if let limit = spec.maxSteps, stepsDone >= limit {
            throw WorkflowRunError(.stepLimit, "workflow '\(spec.name)': the run has run \(stepsDone) steps, its max_steps; no further step runs")
        }
        if let timeout = spec.timeoutSeconds, now().timeIntervalSince(createdAt) >= timeout {
            throw WorkflowRunError(.timeout, "workflow '\(spec.name)': the run passed its timeout_s of \(NumberText.plain(timeout)) s")
        }
    }

    /// Runs `body`, failing with a timeout when the run's deadline passes first.
    private func withDeadline<T: Sendable>(
        _ spec: WorkflowSpec, createdAt: Date, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let timeout = spec.timeoutSeconds else { return try await body() }
        let remaining = timeout - now().timeIntervalSince(createdAt)
        let name = spec.name
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(max(0, Int64((remaining * 1000).rounded(.up)))))
                throw WorkflowRunError(.timeout, "workflow '\(name)': the run passed its timeout_s of \(NumberText.plain(timeout)) s")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    static func vars(input: JSONValue, outputs: [String: JSONValue]) -> [String: JSONValue] {
        ["input": input, "steps": .object(outputs.mapValues { .object(["output": $0]) })]
    }

    static func usage(of records: [WorkflowStepRecord]) -> Usage {
        records.reduce(Usage(promptTokens: 0, completionTokens: 0)) {
            Usage(promptTokens: $0.promptTokens &+ $1.promptTokens, completionTokens: $0.completionTokens &+ $1.completionTokens)
        }
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error)
    }
}
