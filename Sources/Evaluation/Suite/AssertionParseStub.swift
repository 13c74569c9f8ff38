// TEMPORARY until the assertions branch merges: the parser's two entry points.
import SwitchyardCore

extension Assertion {
    static func parse(_ json: JSONValue, field: String) throws -> Assertion {
        guard let type = json["type"]?.stringValue else { throw EvalSuiteError("\(field).type: required") }
        let negated = type.hasPrefix("not-")
        return Assertion(type: negated ? String(type.dropFirst(4)) : type, negated: negated, value: json["value"], threshold: json["threshold"]?.finiteDoubleValue, raw: json)
    }

    static func fromExpected(_ text: String, field: String) throws -> Assertion {
        Assertion(type: "equals", value: .string(text), raw: .object(["type": "equals", "value": .string(text)]))
    }
}

enum AssertionGrader {
    static func gradeTest(_ assertions: [Assertion], threshold: Double?, context: AssertionContext) async -> GradingResult {
        let pass = assertions.allSatisfy { $0.type != "contains" || context.output.contains($0.value?.stringValue ?? "") != $0.negated }
        return GradingResult(pass: pass, score: pass ? 1 : 0, reason: "")
    }
}

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
