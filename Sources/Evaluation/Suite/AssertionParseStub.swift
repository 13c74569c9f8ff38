// TEMPORARY until the assertions branch merges: the parser's two entry points.
import SwitchyardCore

public enum EvalReport {
    public static func json(_ run: EvalRun) -> JSONValue { .null }
    public static func csv(_ run: EvalRun) -> String { "" }
    public static func html(_ run: EvalRun) -> String { "" }
    public static func terminalSummary(_ run: EvalRun, color: Bool) -> String {
        run.providerSummaries.map { "\($0.provider.label): \($0.passes)/\($0.cells) passed, cost \($0.costUSD), p50 \($0.latencyP50Ms ?? 0) ms" }.joined(separator: "\n")
    }
}

public final class EvalProgress: Sendable {
    public init(total: Int) {}
    public func cellFinished(_ row: EvalResultRow) {}
    public func finish() {}
}

public struct EvalResultRecord: Sendable {
    public var testIndex: Int
    public var promptIndex: Int
    public var providerID: String
    public var providerLabel: String?
    public var vars: [String: JSONValue]
    public var prompt: String
    public var success: Bool
    public var score: Double
    public var metadata: [String: JSONValue]
    public var description: String?
    public var error: String?
}
