import Evaluation
import Foundation
import Governance
import Logging
import Tracing
import SwitchyardCore
import Workflows

/// A recorded run not yet executed, and its workflow.
public struct PreparedWorkflowRun: Sendable {
    public var spec: WorkflowSpec
    public var run: WorkflowRunRecord
}

/// A run and its finished steps, as the runs API shows them.
public struct WorkflowRunView: Sendable {
    public var run: WorkflowRunRecord
    public var steps: [WorkflowStepRecord]
    /// The tokens of every step.
    public var usage: Usage
    /// Why the run stopped, when it failed in the execution that made this view.
    public var failure: WorkflowRunError? = nil

    public init(run: WorkflowRunRecord, steps: [WorkflowStepRecord] = [], usage: Usage = Usage(promptTokens: 0, completionTokens: 0)) {
        self.run = run
        self.steps = steps
        self.usage = usage
    }
}

extension Gateway {
    /// Workflows the caller may run (`workflow/NAME` allowed by its key's models), by name.
    public func availableWorkflows(for caller: Caller = .anonymous) -> [WorkflowSpec] {
        configuration.workflows.filter { GlobPattern.allows(caller.allowedModels, ConfigurationLoader.workflowModelPrefix + $0.name) }
    }

    /// The workflow `name`, if the caller may run it; a 404 naming the ones it may run otherwise.
    public func workflow(named name: String, caller: Caller) throws -> WorkflowSpec {
        guard let spec = workflows[name], GlobPattern.allows(caller.allowedModels, ConfigurationLoader.workflowModelPrefix + name) else {
            let names = availableWorkflows(for: caller).map(\.name)
            throw SwitchyardError(
                code: .notFound,
                message: "No workflow '\(name.quotedPrefix(80))' on this gateway"
                    + (names.isEmpty ? "." : " (workflows: \(names.prefix(20).joined(separator: ", ")))."),
                status: 404, param: "model")
        }
        return spec
    }

    /// Records a run of `name` for the caller (`workflow/NAME` on the chat APIs), ready to execute: a refusal
    /// (unknown workflow, input against its schema) comes here, before a stream starts.
    public func prepareWorkflowRun(_ name: String, input: JSONValue, context: CallContext) async throws -> PreparedWorkflowRun {
        let spec = try workflow(named: name, caller: context.caller)
        let engine = workflowEngine(caller: context.caller, logger: context.logger)
        return PreparedWorkflowRun(spec: spec, run: try await start(spec, input: input, engine: engine, caller: context.caller))
    }

    /// Runs a prepared run to its end as the caller. It is recorded and checkpointed like any other, so a crash
    /// mid-run leaves it for start-up to resume. `onStep` hears of each step as it finishes.
    public func executeWorkflowRun(
        _ prepared: PreparedWorkflowRun, context: CallContext, onStep: (@Sendable (WorkflowStepRecord) async -> Void)? = nil
    ) async throws -> WorkflowRunView {
        let runID = prepared.run.id
        guard claimWorkflowRun(runID) else { throw SwitchyardError.internal("workflow run \(runID) is already executing") }
        defer { releaseWorkflowRun(runID) }
        let outcome = try await withSpan("workflow \(prepared.spec.name)") { span in
            span.attributes["switchyard.workflow"] = prepared.spec.name
            span.attributes["switchyard.workflow_run"] = runID
            span.attributes["switchyard.request_id"] = context.requestID
            let outcome = try await workflowEngine(caller: context.caller, logger: context.logger).execute(prepared.spec, runID: runID, onStep: onStep)
            span.attributes["switchyard.workflow_status"] = outcome.run.status.rawValue
            span.attributes["switchyard.cost_usd"] = outcome.run.costUSD
            return outcome
        }
        return { var view = WorkflowRunView(run: outcome.run, steps: outcome.steps, usage: outcome.usage); view.failure = outcome.failure; return view }()
    }

    /// Records a run and hands it to the `WorkflowService` (the runs API: `202` at once, the run in the background).
    public func startWorkflowRun(_ name: String, input: JSONValue, caller: Caller) async throws -> WorkflowRunRecord {
        let spec = try workflow(named: name, caller: caller)
        let engine = workflowEngine(caller: caller, logger: logger)
        let run = try await start(spec, input: input, engine: engine, caller: caller)
        guard workflowQueue.enqueue(run.id) else {
            try? await workflowRuns.finishRun(id: run.id, status: .failed, output: nil, error: "the gateway's run queue was full", at: Date())
            throw SwitchyardError(code: .rateLimited, message: "Too many workflow runs are waiting; try again later.", status: 503)
        }
        return run
    }

    /// A run of `name` and its steps, if the caller may see it (its own runs; an admin's, every run).
    public func workflowRun(_ name: String, id: String, caller: Caller) async throws -> WorkflowRunView {
        _ = try workflow(named: name, caller: caller)
        guard id.count <= 128, let run = try await workflowRuns.run(id: id), run.workflow == name, Self.maySee(run, caller) else {
            throw SwitchyardError(code: .notFound, message: "No run '\(id.quotedPrefix(80))' of workflow '\(name.quotedPrefix(80))'.", status: 404, param: "id")
        }
        let steps = try await workflowRuns.steps(runID: id)
        return WorkflowRunView(run: run, steps: steps, usage: WorkflowEngineUsage.sum(steps))
    }

    /// A run by its id alone (`explain`, `GET /v1/switchyard/workflow-runs/ID`), if the caller may see it.
    public func workflowRun(id: String, caller: Caller) async throws -> WorkflowRunView {
        guard id.count <= 128, let run = try await workflowRuns.run(id: id), Self.maySee(run, caller),
            GlobPattern.allows(caller.allowedModels, ConfigurationLoader.workflowModelPrefix + run.workflow)
        else {
            throw SwitchyardError(code: .notFound, message: "No workflow run '\(id.quotedPrefix(80))'.", status: 404, param: "id")
        }
        let steps = try await workflowRuns.steps(runID: id)
        return WorkflowRunView(run: run, steps: steps, usage: WorkflowEngineUsage.sum(steps))
    }

    /// The newest runs of `name` the caller may see (an admin: everyone's), without their steps.
    public func workflowRuns(_ name: String, caller: Caller, limit: Int) async throws -> [WorkflowRunRecord] {
        _ = try workflow(named: name, caller: caller)
        let limit = max(1, min(limit, 1_000))
        // Sub-workflow runs (`PARENT.STEP`) are their parents' business.
        let runs = try await workflowRuns.runs(workflow: name, limit: caller.role == .admin ? limit * 2 : 10_000)
        return Array(runs.filter { !$0.id.contains(".") && Self.maySee($0, caller) }.prefix(limit))
    }

    /// Its own runs; an admin's, every run.
    static func maySee(_ run: WorkflowRunRecord, _ caller: Caller) -> Bool {
        caller.role == .admin || run.callerID == caller.id
    }

    /// `POST …/runs/ID/resume`: a waiting run gets its `human` step's answer (`input`, checked against the step's
    /// `input_schema`); a run left running by a crash, or one that failed, runs again from its first unfinished step
    /// (its finished steps are not run again; its limits still hold). 409 for a completed run, or a waiting one
    /// resumed without `input`. The run continues in the background.
    public func resumeWorkflowRun(_ name: String, id: String, input: JSONValue?, caller: Caller) async throws -> WorkflowRunRecord {
        let view = try await workflowRun(name, id: id, caller: caller)
        var run = view.run
        guard let spec = workflows[name] else { throw SwitchyardError.internal("workflow \(name) vanished") }
        switch run.status {
        case .completed:
            throw SwitchyardError(code: .conflict, message: "The run \(run.id) has completed; there is nothing to resume.", status: 409)
        case .waiting:
            guard let waiting = view.steps.last(where: { $0.status == .waiting }), let step = spec.step(waiting.stepID),
                case .human(let human) = step.kind
            else {
                throw SwitchyardError(code: .conflict, message: "The run \(run.id) is waiting but no step of it asks for input.", status: 409)
            }
            guard let input else {
                throw SwitchyardError.invalidRequest(
                    "The run \(run.id) waits for input at step '\(waiting.stepID)': send {\"input\": …}.", param: "input")
            }
            if let schema = human.inputSchema {
                let text = input.jsonString()
                let verdict = await AssertionGrader.grade(
                    Assertion(type: "is-json", value: schema), context: AssertionContext(output: text, response: EvalResponse(output: text)))
                guard verdict.pass else {
                    throw SwitchyardError.invalidRequest(
                        "The input does not meet step '\(waiting.stepID)''s input_schema: \(verdict.reason)", param: "input")
                }
            }
            let now = Date()
            var answered = waiting
            answered.status = .completed
            answered.output = input
            answered.finishedAt = now
            answered.ms = max(0, now.timeIntervalSince(waiting.startedAt) * 1000)
            answered.attempts = 1
            guard try await workflowRuns.supplyInput(answered, stepsDone: run.stepsDone + 1) else {
                throw SwitchyardError(code: .conflict, message: "The run \(run.id) is no longer waiting (resumed already?).", status: 409)
            }
        case .running, .failed:
            if input != nil {
                throw SwitchyardError.invalidRequest(
                    "The run \(run.id) is \(run.status.rawValue), not waiting for input; resume it without `input`.", param: "input")
            }
            guard !activeWorkflowRuns.withLock({ $0.contains(run.id) }) else {
                throw SwitchyardError(code: .conflict, message: "The run \(run.id) is executing now.", status: 409)
            }
            guard try await workflowRuns.transition(id: run.id, from: [.running, .failed], to: .running, at: Date()) else {
                throw SwitchyardError(code: .conflict, message: "The run \(run.id) changed while being resumed; read it again.", status: 409)
            }
        }
        guard workflowQueue.enqueue(run.id) else {
            throw SwitchyardError(code: .rateLimited, message: "Too many workflow runs are waiting; try again later.", status: 503)
        }
        run.status = .running
        run.error = nil
        return run
    }

    /// Executes (or resumes) a recorded run as the key that started it. Never throws: a run that cannot continue
    /// is recorded as failed, and one this process is already executing is left alone.
    func executeStoredRun(_ runID: String) async {
        guard claimWorkflowRun(runID) else { return }
        defer { releaseWorkflowRun(runID) }
        do {
            // Replicas sharing a database: another one may be executing it (its lease is live); leave it alone.
            guard try await workflowRuns.claimExecution(of: runID) else { return }
            guard let run = try await workflowRuns.run(id: runID) else { return }
            guard let spec = workflows[run.workflow] else {
                try await workflowRuns.finishRun(
                    id: runID, status: .failed, output: nil, error: "the workflow '\(run.workflow)' is no longer configured", at: Date())
                return
            }
            guard let caller = workflowCaller(run.callerID) else {
                try await workflowRuns.finishRun(
                    id: runID, status: .failed, output: nil, error: "the key that started the run no longer exists or was revoked", at: Date())
                return
            }
            _ = try await workflowEngine(caller: caller, logger: logger).execute(spec, runID: runID)
        } catch is CancellationError {
            // Shutting down: the run stays `running` and resumes at the next start.
        } catch {
            logger.warning("workflow run failed to execute", metadata: ["switchyard.workflow_run": "\(runID)", "error": "\(error)"])
            try? await workflowRuns.finishRun(id: runID, status: .failed, output: nil, error: "\(error)", at: Date())
        }
    }

    func workflowEngine(caller: Caller, logger: Logger) -> WorkflowEngine {
        var engine = WorkflowEngine(runner: GatewayStepRunner(gateway: self, caller: caller, logger: logger), store: workflowRuns)
        let workflows = self.workflows
        engine.resolveWorkflow = { workflows[$0] }
        engine.centroids = workflowCentroids
        return engine
    }

    private func start(_ spec: WorkflowSpec, input: JSONValue, engine: WorkflowEngine, caller: Caller) async throws -> WorkflowRunRecord {
        do {
            return try await engine.start(spec, input: input, runID: Self.newWorkflowRunID(), callerID: caller.id)
        } catch let error as WorkflowRunError {
            throw SwitchyardError.invalidRequest(error.message, param: "input")
        }
    }

    /// The caller a stored run executes as: its key, while that key exists and is not revoked; anonymous on a
    /// gateway without keys.
    private func workflowCaller(_ id: String?) -> Caller? {
        guard requiresAuth else { return .anonymous }
        guard let id, let (key, _) = governor.key(id: id), key.revokedAt == nil else { return nil }
        return Caller(key)
    }

    private func claimWorkflowRun(_ id: String) -> Bool {
        activeWorkflowRuns.withLock { $0.insert(id).inserted }
    }

    private func releaseWorkflowRun(_ id: String) {
        _ = activeWorkflowRuns.withLock { $0.remove(id) }
    }

    /// `wfr_` and the request id's time-ordered hex digits.
    static func newWorkflowRunID() -> String {
        "wfr_" + CallContext.newRequestID().dropFirst(4)
    }
}

/// Token sums over recorded steps.
enum WorkflowEngineUsage {
    static func sum(_ steps: [WorkflowStepRecord]) -> Usage {
        steps.reduce(Usage(promptTokens: 0, completionTokens: 0)) {
            Usage(promptTokens: $0.promptTokens &+ $1.promptTokens, completionTokens: $0.completionTokens &+ $1.completionTokens)
        }
    }
}

/// A workflow's answer as a chat completion.
public struct WorkflowCompletion: Sendable {
    public var response: ChatResponse
    public var runID: String
    public var costUSD: Double
}

extension Gateway {
    /// The header a workflow's answers (and failures) carry with the run's id.
    public static let workflowRunHeader = "x-switchyard-workflow-run"

    /// `"model": "workflow/NAME"` on the chat APIs: the last user message is `{{input}}`. Records the run (errors
    /// here are the client's: unknown workflow, no user message, input against the schema).
    public func prepareWorkflowCompletion(_ request: ChatRequest, context: CallContext) async throws -> PreparedWorkflowRun {
        let name = String(request.model.dropFirst(ConfigurationLoader.workflowModelPrefix.count))
        guard let last = request.messages.last(where: { $0.role == .user }) else {
            throw SwitchyardError.invalidRequest("A workflow's input is the last user message; the request has none.", param: "messages")
        }
        return try await prepareWorkflowRun(name, input: .string(last.text), context: context)
    }

    /// Runs a prepared `workflow/NAME` request: the answer is the run's output, with usage and cost the sums of its
    /// steps. A run that fails is a 502 naming the run and why.
    public func completeWorkflow(
        _ prepared: PreparedWorkflowRun, request: ChatRequest, context: CallContext,
        onStep: (@Sendable (WorkflowStepRecord) async -> Void)? = nil
    ) async throws -> WorkflowCompletion {
        let view = try await executeWorkflowRun(prepared, context: context, onStep: onStep)
        let run = view.run
        var text: String
        switch run.output ?? .null {
        case .string(let output): text = output
        case .null: text = ""
        case let other: text = other.jsonString()
        }
        if run.status == .waiting {
            // A person must answer before the run goes on: the answer is the question, and the run id says where to
            // send the reply (`POST …/runs/ID/resume`).
            text = view.steps.last(where: { $0.status == .waiting }).map { Template.plain($0.input) } ?? ""
        }
        guard run.status == .completed || run.status == .waiting else {
            let message = "The workflow run \(run.id) failed: \(run.error ?? "it did not finish")"
            var error = SwitchyardError(code: .upstream, message: message, status: 502)
            if let cause = view.failure?.stepError, (400..<500).contains(cause.status) {
                // The client's own request could not be served (too long, blocked, over budget): its status, not a 502.
                error = SwitchyardError(code: cause.code, message: message, status: cause.status, param: cause.param, retryAfter: cause.retryAfter)
            }
            error.model = request.model
            error.headers[Self.workflowRunHeader] = run.id
            throw error
        }
        let response = ChatResponse(
            id: "chatcmpl-" + context.requestID.dropFirst(4), created: Int(Date().timeIntervalSince1970), model: request.model,
            choices: [ChatResponse.Choice(message: .assistant(text), finishReason: .stop)], usage: view.usage,
            switchyard: [
                "request_id": .string(context.requestID), "cost_usd": .double(run.costUSD), "model": .string(request.model),
                "workflow_run": .string(run.id), "workflow_status": .string(run.status.rawValue),
                "steps": .int(Int64(view.steps.count)),
            ])
        return WorkflowCompletion(response: response, runID: run.id, costUSD: run.costUSD)
    }
}
