/// The feedback and experiment endpoints' rules (issue 21). Any key may give feedback — on the
/// requests its scope can read, which the operation checks (others are 404s); experiment reports
/// cover every key's traffic, so they are for admins.
extension EndpointPolicy {
    static let feedbackRules: [Rule] = [
        Rule(method: .post, pattern: ["v1", "switchyard", "feedback"], permission: .giveFeedback),
        Rule(method: .get, pattern: ["v1", "switchyard", "experiments"], permission: .readExperiments),
        Rule(method: .get, pattern: ["v1", "switchyard", "experiments", "*"], permission: .readExperiments),
    ]
}
