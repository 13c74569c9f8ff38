/// The dashboard's data endpoints. The overview reads the request log (scoped like it: an admin all, a
/// team admin its team, a member its own); deployments are listed for the models the key may use;
/// `me` tells a key who it is. The page and its assets are public (`EndpointPolicy.publicPaths`).
extension EndpointPolicy {
    static let dashboardRules: [Rule] = [
        Rule(method: .get, pattern: ["v1", "switchyard", "stats", "overview"], permission: .readRequestLog),
        Rule(method: .get, pattern: ["v1", "switchyard", "deployments"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "switchyard", "me"], permission: .useModels),
    ]
}
