/// The workflow endpoints' rules (issue 22): running a workflow runs models, so all need `.useModels`; which
/// workflows a key may run is its model allowlist (`workflow/NAME`), and a run is visible to its key and admins.
extension EndpointPolicy {
    static let workflowRules: [Rule] = [
        Rule(method: .get, pattern: ["v1", "switchyard", "workflows"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "switchyard", "workflows", "*", "runs"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "switchyard", "workflows", "*", "runs"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "switchyard", "workflows", "*", "runs", "*"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "switchyard", "workflows", "*", "runs", "*", "resume"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "switchyard", "workflows", "*", "runs", "*", "events"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "switchyard", "workflow-runs", "*"], permission: .useModels),
        Rule(method: .get, pattern: ["metrics"], permission: .readMetrics),
    ]
}
