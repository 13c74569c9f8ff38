/// The eval report endpoints' rules (issue 23). A report is a suite's answers, of no team and no
/// key's traffic: admins upload and delete them; admins and team admins read them.
extension EndpointPolicy {
    static let evalReportRules: [Rule] = [
        Rule(method: .post, pattern: ["v1", "switchyard", "eval-reports"], permission: .publishEvalReports),
        Rule(method: .get, pattern: ["v1", "switchyard", "eval-reports"], permission: .readEvalReports),
        Rule(method: .get, pattern: ["v1", "switchyard", "eval-reports", "*"], permission: .readEvalReports),
        Rule(method: .get, pattern: ["v1", "switchyard", "eval-reports", "*", "html"], permission: .readEvalReports),
        Rule(method: .delete, pattern: ["v1", "switchyard", "eval-reports", "*"], permission: .publishEvalReports),
    ]
}
