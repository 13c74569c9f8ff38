import Foundation
import SwitchyardCore

@testable import Evaluation

/// Hand-built runs for the report tests: two providers × three tests, with a failed assertion, a
/// call that errored, a cached answer, and outputs and vars written to break naive writers.
enum ReportFixtures {
    static let hostileOutput = "</details><script>alert(1)</script> \"quoted\", 'single'\nsecond line\r\nNUL:\0 end"
    static let formulaVar = "=cmd|' /C calc'!A0"

    static let cheap = EvalProvider(id: "openai:chat:cheap", label: "cheap", model: "cheap")
    static let strong = EvalProvider(id: "strong", label: "Strong & \"best\"", model: "strong")
    static let prompt = EvalPrompt(raw: "Answer about {{topic}}: {{question}}", label: "answer")

    static func contains(_ value: String) -> JSONValue { ["type": "contains", "value": .string(value)] }

    static func passing(_ assertion: JSONValue) -> GradingResult {
        GradingResult(
            pass: true, score: 1, reason: "All assertions passed",
            componentResults: [GradingResult(pass: true, score: 1, reason: "Assertion passed", assertion: assertion)])
    }

    static func row(
        test: Int, provider: EvalProvider, vars: [String: JSONValue], description: String? = nil, output: String? = nil,
        cost: Double = 0, latency: Double = 0, cached: Bool = false, error: String? = nil, grading: GradingResult? = nil,
        assertions: [JSONValue] = []
    ) -> EvalResultRow {
        let rendered = "Answer about \(vars["topic"]?.stringValue ?? ""): \(vars["question"]?.stringValue ?? "")"
        let response = output.map {
            EvalResponse(
                output: $0, finishReason: "stop", costUSD: cost, latencyMs: latency, promptTokens: 10, completionTokens: 5,
                servedModel: provider.model + "-upstream", requestID: "req-\(test)-\(provider.model)", cached: cached)
        }
        return EvalResultRow(
            testIndex: test, promptIndex: 0, provider: provider, prompt: prompt, renderedPrompt: rendered, vars: vars,
            description: description, metadata: ["case": .int(Int64(test))], response: response, error: error, grading: grading,
            assertions: assertions)
    }

    /// Cells: cheap PASS, PASS (cached), FAIL; strong PASS, PASS, ERROR.
    static func run() -> EvalRun {
        let vars0: [String: JSONValue] = ["topic": "France", "question": .string(formulaVar)]
        let vars1: [String: JSONValue] = ["topic": "hostile", "question": "say \"hi\", then leave\nplease"]
        let vars2: [String: JSONValue] = ["topic": "-5", "question": "@SUM(A1:A9)"]
        let paris = contains("Paris")
        let safe = contains("safe")
        let failedSafe = GradingResult(
            pass: false, score: 0, reason: "Expected output to contain \"safe\"",
            componentResults: [GradingResult(pass: false, score: 0, reason: "Expected output to contain \"safe\"", assertion: safe)])
        let results = [
            row(test: 0, provider: cheap, vars: vars0, description: "capital", output: "Paris is the capital.", cost: 0.0001, latency: 100,
                grading: passing(paris), assertions: [paris]),
            row(test: 0, provider: strong, vars: vars0, description: "capital", output: "Paris.", cost: 0.002, latency: 400,
                grading: passing(paris), assertions: [paris]),
            row(test: 1, provider: cheap, vars: vars1, output: hostileOutput, cost: 0.0001, latency: 200, grading: failedSafe, assertions: [safe]),
            row(test: 1, provider: strong, vars: vars1, output: "He said \"hi\", then\nleft. It is safe.", cost: 0.002, latency: 500,
                grading: passing(safe), assertions: [safe]),
            row(test: 2, provider: cheap, vars: vars2, output: "=1+1 is safe", cost: 0, latency: 300, cached: true, grading: passing(safe),
                assertions: [safe]),
            row(test: 2, provider: strong, vars: vars2, error: "HTTP 500: upstream failed <b>", assertions: [safe]),
        ]
        return EvalRun(
            description: "Report fixture <suite>", providers: [cheap, strong], prompts: [prompt], testCount: 3, results: results,
            startedAt: Date(timeIntervalSince1970: 1_750_000_000), durationMs: 1234)
    }
}

/// RFC 4180 read back: quoted fields may hold commas, doubled quotes and line breaks; rows end in CRLF.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var scalars = Array(text.unicodeScalars)[...]
    while let scalar = scalars.popFirst() {
        if quoted {
            if scalar == "\"" {
                if scalars.first == "\"" {
                    field.unicodeScalars.append("\"")
                    scalars.removeFirst()
                } else {
                    quoted = false
                }
            } else {
                field.unicodeScalars.append(scalar)
            }
        } else if scalar == "\"" && field.isEmpty {
            quoted = true
        } else if scalar == "," {
            row.append(field)
            field = ""
        } else if scalar == "\r" && scalars.first == "\n" {
            scalars.removeFirst()
            row.append(field)
            rows.append(row)
            row = []
            field = ""
        } else {
            field.unicodeScalars.append(scalar)
        }
    }
    if !field.isEmpty || !row.isEmpty {
        row.append(field)
        rows.append(row)
    }
    return rows
}

extension String {
    func occurrences(of needle: String) -> Int {
        components(separatedBy: needle).count - 1
    }
}
