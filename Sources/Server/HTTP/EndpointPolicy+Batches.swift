/// The batch endpoints' rules (issue 19), kept beside the main table so each feature's rules read
/// together. All need `.useModels` (a batch runs models); each file and batch is further visible
/// only to the key that made it, and to admins.
extension EndpointPolicy {
    static let batchRules: [Rule] = [
        Rule(method: .post, pattern: ["v1", "files"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "files"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "files", "*"], permission: .useModels),
        Rule(method: .delete, pattern: ["v1", "files", "*"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "files", "*", "content"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "batches"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "batches"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "batches", "*"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "batches", "*", "cancel"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "messages", "batches"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "messages", "batches"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "messages", "batches", "*"], permission: .useModels),
        Rule(method: .delete, pattern: ["v1", "messages", "batches", "*"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "messages", "batches", "*", "cancel"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "messages", "batches", "*", "results"], permission: .useModels),
        Rule(method: .post, pattern: ["files"], permission: .useModels),
        Rule(method: .get, pattern: ["files"], permission: .useModels),
        Rule(method: .get, pattern: ["files", "*"], permission: .useModels),
        Rule(method: .delete, pattern: ["files", "*"], permission: .useModels),
        Rule(method: .get, pattern: ["files", "*", "content"], permission: .useModels),
        Rule(method: .post, pattern: ["batches"], permission: .useModels),
        Rule(method: .get, pattern: ["batches"], permission: .useModels),
        Rule(method: .get, pattern: ["batches", "*"], permission: .useModels),
        Rule(method: .post, pattern: ["batches", "*", "cancel"], permission: .useModels),
        Rule(method: .post, pattern: ["messages", "batches"], permission: .useModels),
        Rule(method: .get, pattern: ["messages", "batches"], permission: .useModels),
        Rule(method: .get, pattern: ["messages", "batches", "*"], permission: .useModels),
        Rule(method: .delete, pattern: ["messages", "batches", "*"], permission: .useModels),
        Rule(method: .post, pattern: ["messages", "batches", "*", "cancel"], permission: .useModels),
        Rule(method: .get, pattern: ["messages", "batches", "*", "results"], permission: .useModels),
    ]
}
