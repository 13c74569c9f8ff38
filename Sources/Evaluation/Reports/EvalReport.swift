import Foundation
import SwitchyardCore

/// The files and text a finished run is written as: promptfoo-shaped JSON (and its reader), CSV,
/// one self-contained HTML page, and the terminal summary.
public enum EvalReport {}

/// A results file that cannot be read: the path names the field (`results.results[3].provider`).
public struct EvalReportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where in the file, as a JSON path (`results.results[3].provider`); empty for the whole file.
    public var path: String
    public var message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// The run laid out as the reports show it: one row per test × prompt (× repeat), one column per
/// provider. Built once per report; lookups are by dictionary so 5,000 cells stay cheap.
struct EvalMatrix {
    struct Key: Hashable, Comparable {
        var testIndex: Int
        var promptIndex: Int
        var repeatIndex: Int

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.testIndex, lhs.promptIndex, lhs.repeatIndex) < (rhs.testIndex, rhs.promptIndex, rhs.repeatIndex)
        }
    }

    struct Row {
        var key: Key
        /// From the first cell of the row (every cell of a row shares the test).
        var vars: [String: JSONValue]
        var description: String?
        var prompt: EvalPrompt
        /// One per provider column; nil where that provider has no cell for this row.
        var cells: [EvalResultRow?]
    }

    let providers: [EvalProvider]
    let rows: [Row]
    /// Every var name any test uses, sorted (as promptfoo's table heads them).
    let varNames: [String]
    let showsPrompt: Bool
    let showsRepeat: Bool
    let hasDescriptions: Bool

    init(_ run: EvalRun) {
        let (providers, column) = Self.providerColumns(run)
        var rowsByKey: [Key: Row] = [:]
        var names = Set<String>()
        for result in run.results {
            let key = Key(testIndex: result.testIndex, promptIndex: result.promptIndex, repeatIndex: result.repeatIndex)
            var row = rowsByKey[key] ?? Row(
                key: key, vars: result.vars, description: result.description, prompt: result.prompt,
                cells: Array(repeating: nil, count: providers.count))
            if let index = column[result.provider.id], row.cells[index] == nil { row.cells[index] = result }
            rowsByKey[key] = row
            names.formUnion(result.vars.keys)
        }
        self.providers = providers
        rows = rowsByKey.values.sorted { $0.key < $1.key }
        varNames = names.sorted()
        showsPrompt = Set(rows.map(\.key.promptIndex)).count > 1 || run.prompts.count > 1
        showsRepeat = rows.contains { $0.key.repeatIndex > 0 }
        hasDescriptions = rows.contains { !($0.description ?? "").isEmpty }
    }

    /// The run's providers in suite order, and each one's column. A cell whose provider the run does
    /// not list still gets a column (after the listed ones) rather than vanishing from the reports.
    static func providerColumns(_ run: EvalRun) -> (providers: [EvalProvider], column: [String: Int]) {
        var providers = run.providers
        var column = Dictionary(providers.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        for row in run.results where column[row.provider.id] == nil {
            column[row.provider.id] = providers.count
            providers.append(row.provider)
        }
        return (providers, column)
    }
}

extension EvalReport {
    /// The verdict word a cell shows (promptfoo's `[PASS]` / `[FAIL]` / `[ERROR]`).
    static func verdict(_ row: EvalResultRow) -> String {
        switch row.failureReason {
        case .none: "PASS"
        case .assertion: "FAIL"
        case .error: "ERROR"
        }
    }

    /// Why a cell did not pass: the call's error, else each failed assertion's reason (else the aggregate's).
    static func failureReasons(_ row: EvalResultRow) -> [String] {
        if let error = row.error { return [error] }
        guard let grading = row.grading, !row.success else { return [] }
        let failed = grading.componentResults.filter { !$0.pass }.map(\.reason).filter { !$0.isEmpty }
        return failed.isEmpty ? [grading.reason].filter { !$0.isEmpty } : failed
    }

    /// A var's value as text: strings as they are, anything else as compact JSON.
    static func text(of value: JSONValue) -> String {
        if let string = value.stringValue { return string }
        return value.jsonString()
    }

    /// How a test is named in a list: its description, else its vars (`name=Ada, topic=…`).
    static func testLabel(index: Int, description: String?, vars: [String: JSONValue]) -> String {
        if let description, !description.isEmpty { return description }
        if vars.isEmpty { return "test \(index)" }
        return vars.keys.sorted().map { "\($0)=\(text(of: vars[$0] ?? .null))" }.joined(separator: ", ")
    }

    /// The answer's text, or its tool calls as JSON when it only called tools.
    static func outputText(_ response: EvalResponse) -> String {
        if response.output.isEmpty, let calls = response.toolCalls { return calls.jsonString() }
        return response.output
    }

    /// Dollars with enough digits for sub-cent eval costs (`$0.000123`, `$1.25`).
    static func formatCost(_ usd: Double) -> String {
        guard usd.isFinite else { return "—" }
        if usd == 0 { return "$0" }
        if abs(usd) >= 1 { return String(format: "$%.2f", usd) }
        if abs(usd) >= 0.01 { return String(format: "$%.4f", usd) }
        return String(format: "$%.6f", usd)
    }

    static func formatMilliseconds(_ ms: Double?) -> String {
        guard let ms, ms.isFinite else { return "—" }
        return ms >= 10_000 ? String(format: "%.1f s", ms / 1000) : String(format: "%.0f ms", ms)
    }

    static func formatPercent(_ fraction: Double) -> String {
        String(format: "%.1f%%", fraction.isFinite ? fraction * 100 : 0)
    }

    static func formatScore(_ score: Double) -> String {
        String(format: "%.2f", score.isFinite ? score : 0)
    }

    /// The first `limit` UTF-8 bytes of `text`, cut on a character boundary; nil when it fits.
    static func prefix(_ text: String, utf8Bytes limit: Int) -> String? {
        guard text.utf8.count > limit else { return nil }
        var end = text.startIndex
        var used = 0
        for index in text.indices {
            let size = text[index].utf8.count
            if used + size > limit { break }
            used += size
            end = text.index(after: index)
        }
        return String(text[..<end])
    }
}
