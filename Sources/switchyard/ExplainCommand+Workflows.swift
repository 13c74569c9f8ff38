import Foundation
import Storage
import SwitchyardCore

extension ExplainCommand {
    /// `explain wfr_…`: a workflow run, each step with what it was asked, answered and cost.
    func explainWorkflowRun() async throws {
        guard let run = try await WorkflowRunSource.run(id: requestID, config: config, db: db, key: key) else {
            throw CommandFailure("No workflow run '\(requestID.quotedPrefix(80))'.", .notFound)
        }
        print(json ? run.jsonString() : WorkflowRunText.render(run, inputs: true))
    }
}

/// Where `explain wfr_…` reads a run: the running gateway's runs API when one serves this configuration (as for
/// request ids), else the storage's `workflow_runs` and `workflow_steps`, SQLite or PostgreSQL (a step is there once it finished).
enum WorkflowRunSource {
    static func run(id: String, config: String?, db: String?, key: String?) async throws -> JSONValue? {
        if let running = ConfigurationFinder.runningGateway(config: config, db: db) {
            do {
                return try await GatewayClient(url: running.url, key: key).call(.GET, WorkflowPaths.anyRun(id))
            } catch let failure as CommandFailure where failure.kind == .notFound {
                return nil
            }
        }
        return try await StorageLocation.find(db: db, config: config).withWorkflowRuns { store in
            guard let run = try await store.run(id: id) else { return nil }
            return json(run, steps: try await store.steps(runID: id))
        }
    }

    /// A run as the runs API shows it.
    static func json(_ run: WorkflowRunRecord, steps: [WorkflowStepRecord]) -> JSONValue {
        run.apiJSON(steps: steps)
    }
}
