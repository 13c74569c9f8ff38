import Crypto
import Foundation
import SwitchyardCore

extension EvalReport {
    /// The run as promptfoo writes `results.json` (`promptfoo eval -o results.json`): `{evalId,
    /// results: EvaluateSummaryV3, config, shareableUrl}`, so tools that read promptfoo's files read ours.
    ///
    /// promptfoo's numbering is kept: `prompts[]` has one entry per provider × prompt (provider
    /// outer), `results[].promptIdx` indexes it, and `testIdx` counts repeats as separate tests.
    /// A failed assertion's reason is also the cell's `error`, as promptfoo writes it.
    ///
    /// - Parameter evalId: defaults to `eval-XXX-<startedAt>` with `XXX` derived from the run, so the
    ///   same run always gets the same id.
    public static func json(_ run: EvalRun, evalId: String? = nil) -> JSONValue {
        let timestamp = isoTimestamp(run.startedAt)
        let id = evalId ?? defaultEvalID(run)
        let layout = JSONLayout(run)
        let results = run.results.map { resultJSON($0, layout: layout, evalId: id) }
        var config: [String: JSONValue] = [
            "providers": .array(layout.providers.map { .object(["id": .string($0.id), "label": .string($0.label)]) }),
            "prompts": .array(run.prompts.map { .string($0.raw) }),
        ]
        if let description = run.description { config["description"] = .string(description) }
        return [
            "evalId": .string(id),
            "results": [
                "version": 3,
                "timestamp": .string(timestamp),
                "prompts": .array(layout.completedPrompts(run)),
                "results": .array(results),
                "stats": statsJSON(run),
            ],
            "config": .object(config),
            "shareableUrl": .null,
            "metadata": ["evaluationCreatedAt": .string(timestamp), "exportedBy": "switchyard"],
        ]
    }

    /// JavaScript's `Date.toISOString()` form: `2025-01-31T12:00:00.000Z`.
    static func isoTimestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// promptfoo's `eval-XXX-YYYY-MM-DDTHH:MM:SS`, with `XXX` from a hash of the run rather than random.
    static func defaultEvalID(_ run: EvalRun) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(run.startedAt.timeIntervalSince1970)|\(run.description ?? "")|\(run.results.count)".utf8))
        for provider in run.providers { hasher.update(data: Data("|\(provider.id)".utf8)) }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let suffix = hasher.finalize().prefix(3).map { alphabet[Int($0) % alphabet.count] }
        return "eval-\(String(suffix))-\(isoTimestamp(run.startedAt).prefix(19))"
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A UUID that is the same for the same eval and cell (promptfoo's are random v4 UUIDs): a
    /// name-based version 8 UUID (RFC 9562), so tools that check UUIDs accept it.
    static func resultID(evalId: String, testIdx: Int, promptIdx: Int) -> String {
        var hex = Array(sha256Hex("\(evalId)|\(testIdx)|\(promptIdx)").prefix(32))
        hex[12] = "8"
        hex[16] = Array("89ab")[Int(String(hex[16]), radix: 16).map { $0 & 3 } ?? 0]
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }
        return groups.joined(separator: "-")
    }

    /// How promptfoo numbers cells: prompt columns are provider × prompt, rows are test × repeat.
    struct JSONLayout {
        let providers: [EvalProvider]
        let providerColumn: [String: Int]
        let promptCount: Int
        let repeatCount: Int

        init(_ run: EvalRun) {
            (providers, providerColumn) = EvalMatrix.providerColumns(run)
            promptCount = max(run.prompts.count, (run.results.map(\.promptIndex).max() ?? -1) + 1, 1)
            repeatCount = (run.results.map(\.repeatIndex).max() ?? 0) + 1
        }

        func promptIdx(_ row: EvalResultRow) -> Int { (providerColumn[row.provider.id] ?? 0) * promptCount + row.promptIndex }
        func testIdx(_ row: EvalResultRow) -> Int { row.testIndex * repeatCount + row.repeatIndex }

        /// `prompts[]`: one per provider × prompt, each with its cells' metrics.
        func completedPrompts(_ run: EvalRun) -> [JSONValue] {
            var metrics = Array(repeating: PromptMetrics(), count: providers.count * promptCount)
            for row in run.results { metrics[promptIdx(row)].add(row) }
            return providers.enumerated().flatMap { providerIndex, provider in
                (0..<promptCount).map { promptIndex -> JSONValue in
                    let prompt = promptIndex < run.prompts.count ? run.prompts[promptIndex] : EvalPrompt(raw: "")
                    return [
                        "raw": .string(prompt.raw), "label": .string(prompt.label), "id": .string(sha256Hex(prompt.label)),
                        "provider": .string(provider.label),
                        "metrics": metrics[providerIndex * promptCount + promptIndex].json,
                    ]
                }
            }
        }
    }

    /// promptfoo's `PromptMetrics`: sums over a column's cells.
    struct PromptMetrics {
        var score = 0.0, passes = 0, failures = 0, errors = 0, assertPasses = 0, assertFailures = 0
        var latencyMs = 0.0, cost = 0.0
        var tokens = TokenTotals()
        var namedScores: [String: Double] = [:]
        var namedScoresCount: [String: Int] = [:]

        mutating func add(_ row: EvalResultRow) {
            switch row.failureReason {
            case .none: passes += 1
            case .assertion: failures += 1
            case .error: errors += 1
            }
            score += row.score
            latencyMs += row.latencyMs
            cost += row.costUSD
            tokens.add(row)
            let components = row.grading?.componentResults ?? []
            assertPasses += components.filter(\.pass).count
            assertFailures += components.filter { !$0.pass }.count
            for (name, value) in row.grading?.namedScores ?? [:] {
                namedScores[name, default: 0] += value
                let contributing = components.filter { $0.assertion?["metric"]?.stringValue == name }.count
                namedScoresCount[name, default: 0] += max(contributing, 1)
            }
        }

        var json: JSONValue {
            [
                "score": .double(score), "testPassCount": .int(Int64(passes)), "testFailCount": .int(Int64(failures)),
                "testErrorCount": .int(Int64(errors)), "assertPassCount": .int(Int64(assertPasses)),
                "assertFailCount": .int(Int64(assertFailures)), "totalLatencyMs": .double(latencyMs.rounded()),
                "tokenUsage": tokens.json, "namedScores": .object(namedScores.mapValues { .double($0) }),
                "namedScoresCount": .object(namedScoresCount.mapValues { .int(Int64($0)) }), "cost": .double(cost),
            ]
        }
    }

    /// Token sums in promptfoo's `TokenUsage` shape, with judge tokens under `assertions`.
    struct TokenTotals {
        var prompt = 0, completion = 0, cached = 0, requests = 0, judge = 0

        mutating func add(_ row: EvalResultRow) {
            if let response = row.response {
                prompt += response.promptTokens
                completion += response.completionTokens
                // Requests counts provider calls: an answer from the eval cache cost none.
                if response.cached { cached += response.promptTokens + response.completionTokens } else { requests += 1 }
            }
            judge += row.grading?.judgeTokens ?? 0
        }

        var json: JSONValue {
            var usage: [String: JSONValue] = [
                "total": .int(Int64(prompt + completion)), "prompt": .int(Int64(prompt)), "completion": .int(Int64(completion)),
                "cached": .int(Int64(cached)), "numRequests": .int(Int64(requests)),
            ]
            if judge > 0 { usage["assertions"] = ["total": .int(Int64(judge))] }
            return .object(usage)
        }
    }

    static func statsJSON(_ run: EvalRun) -> JSONValue {
        var tokens = TokenTotals()
        for row in run.results { tokens.add(row) }
        return [
            "successes": .int(Int64(run.successes)), "failures": .int(Int64(run.failures)), "errors": .int(Int64(run.errors)),
            "tokenUsage": tokens.json,
            "durationMs": .int(Int64(exactly: run.durationMs.rounded()) ?? 0),
        ]
    }

    static func resultJSON(_ row: EvalResultRow, layout: JSONLayout, evalId: String) -> JSONValue {
        let testIdx = layout.testIdx(row), promptIdx = layout.promptIdx(row)
        var testCase: [String: JSONValue] = ["vars": .object(row.vars)]
        let assertions = row.assertions.isEmpty ? (row.grading?.componentResults.compactMap(\.assertion) ?? []) : row.assertions
        if !assertions.isEmpty { testCase["assert"] = .array(assertions) }
        if let description = row.description { testCase["description"] = .string(description) }
        if !row.metadata.isEmpty { testCase["metadata"] = .object(row.metadata) }

        // promptfoo puts a failed assertion's reason in `error` too; an error cell has its call's error.
        let error: JSONValue = row.error.map { .string($0) } ?? (row.failureReason == .assertion ? .string(row.grading?.reason ?? "") : .null)
        var tokens = TokenTotals()
        tokens.add(row)
        var result: [String: JSONValue] = [
            "id": .string(resultID(evalId: evalId, testIdx: testIdx, promptIdx: promptIdx)),
            "promptIdx": .int(Int64(promptIdx)), "testIdx": .int(Int64(testIdx)),
            "testCase": .object(testCase),
            "promptId": .string(sha256Hex(row.prompt.label)),
            "provider": ["id": .string(row.provider.id), "label": .string(row.provider.label)],
            "prompt": ["raw": .string(row.renderedPrompt), "label": .string(row.prompt.label)],
            "vars": .object(row.vars),
            "response": row.response.map(responseJSON) ?? .null,
            "error": error,
            "success": .bool(row.success), "score": .double(row.score), "failureReason": .int(Int64(row.failureReason.rawValue)),
            "gradingResult": row.grading.map { gradingJSON($0) } ?? .null,
            "namedScores": .object((row.grading?.namedScores ?? [:]).mapValues { .double($0) }),
            "latencyMs": .double(row.latencyMs.rounded()), "cost": .double(row.costUSD),
            "tokenUsage": tokens.json,
            "metadata": .object(row.metadata),
        ]
        if let description = row.description { result["description"] = .string(description) }
        return .object(result)
    }

    static func responseJSON(_ response: EvalResponse) -> JSONValue {
        // promptfoo's OpenAI provider answers tool calls as the output itself (with the text when both came).
        let output: JSONValue
        switch (response.toolCalls, response.output.isEmpty) {
        case (nil, _): output = .string(response.output)
        case (let calls?, true): output = calls
        case (let calls?, false): output = ["content": .string(response.output), "tool_calls": calls]
        }
        let total = response.promptTokens + response.completionTokens
        var json: [String: JSONValue] = [
            "output": output,
            "tokenUsage": [
                "total": .int(Int64(total)), "prompt": .int(Int64(response.promptTokens)),
                "completion": .int(Int64(response.completionTokens)), "cached": .int(Int64(response.cached ? total : 0)),
                "numRequests": .int(response.cached ? 0 : 1),
            ],
            "cached": .bool(response.cached), "cost": .double(response.costUSD), "latencyMs": .double(response.latencyMs.rounded()),
            "metadata": [
                "switchyard_request_id": response.requestID.map { .string($0) } ?? .null,
                "served_model": response.servedModel.map { .string($0) } ?? .null,
                "switchyard_variant": response.variant.map { .string($0) } ?? .null,
            ],
        ]
        if let reason = response.finishReason { json["finishReason"] = .string(reason) }
        return .object(json)
    }

    static func gradingJSON(_ grading: GradingResult) -> JSONValue {
        var json: [String: JSONValue] = [
            "pass": .bool(grading.pass), "score": .double(grading.score), "reason": .string(grading.reason),
            "namedScores": .object(grading.namedScores.mapValues { .double($0) }),
            "componentResults": .array(grading.componentResults.map { gradingJSON($0) }),
        ]
        if let assertion = grading.assertion { json["assertion"] = assertion }
        if grading.judgeTokens > 0 { json["tokensUsed"] = ["total": .int(Int64(grading.judgeTokens))] }
        return .object(json)
    }
}
