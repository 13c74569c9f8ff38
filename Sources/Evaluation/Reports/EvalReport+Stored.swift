import Foundation
import SwitchyardCore

extension EvalReport {
    /// A results file read back as a run, as far as the file holds one, so a stored report can be
    /// summarised and drawn as the HTML page again: the cells (validated by `readResults`), the
    /// providers of `config.providers` (then any other a cell names), the description, the start
    /// time and the duration. What the file does not keep (token counts, each assertion's verdict,
    /// the judges' share of the cost) is not invented: each cell has one grading with the file's
    /// pass, score and reason, and its whole cost on the answer.
    ///
    /// Test and prompt numbers are renumbered densely in their order, so a hostile `testIdx` of
    /// 2^62 is a row like any other rather than arithmetic that overflows.
    public static func run(fromResults data: Data) throws -> EvalRun {
        try run(fromResults: parse(data))
    }

    public static func run(fromResults root: JSONValue) throws -> EvalRun {
        let records = try readResults(root)
        let providers = configuredProviders(root["config"]?["providers"], records: records)
        let filePrompts = (root["results"]?["prompts"]?.arrayValue ?? []).map { value -> EvalPrompt in
            let raw = value["raw"]?.stringValue ?? value.stringValue ?? ""
            return EvalPrompt(raw: raw, label: value["label"]?.stringValue ?? raw)
        }
        // Our files (and promptfoo's) number prompt columns provider × prompt: the prompt is the remainder.
        let perProvider: Int? = !providers.isEmpty && !filePrompts.isEmpty && filePrompts.count % providers.count == 0
            ? filePrompts.count / providers.count : nil
        func promptKey(_ record: EvalResultRecord) -> Int { perProvider.map { record.promptIdx % $0 } ?? record.promptIdx }
        let testRank = denseRanks(records.map(\.testIdx))
        let promptRank = denseRanks(records.map(promptKey))
        var prompts: [EvalPrompt] = Array(repeating: EvalPrompt(raw: ""), count: promptRank.count)
        var promptSeen = Array(repeating: false, count: promptRank.count)

        let byID = Dictionary(providers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var rows: [EvalResultRow] = []
        rows.reserveCapacity(records.count)
        for record in records {
            let promptIndex = promptRank[promptKey(record)] ?? 0
            if !promptSeen[promptIndex] {
                promptSeen[promptIndex] = true
                let filed = perProvider != nil && record.promptIdx < filePrompts.count ? filePrompts[record.promptIdx] : nil
                prompts[promptIndex] = filed ?? EvalPrompt(raw: record.prompt)
            }
            let provider = byID[record.providerID]
                ?? EvalProvider(id: record.providerID, label: record.providerLabel, model: record.providerID)
            rows.append(row(record, testIndex: testRank[record.testIdx] ?? 0, promptIndex: promptIndex, provider: provider,
                            prompt: prompts[promptIndex]))
        }
        let description = root["config"]?["description"]?.stringValue
        let duration = root["results"]?["stats"]?["durationMs"]?.finiteDoubleValue.map { max(0, $0) } ?? 0
        return EvalRun(
            description: description, providers: providers, prompts: prompts, testCount: testRank.count, results: rows,
            startedAt: startedAt(root) ?? Date(timeIntervalSince1970: 0), durationMs: duration)
    }

    /// When the run started: `results.timestamp`, else `metadata.evaluationCreatedAt` (ISO 8601); nil when neither reads.
    public static func startedAt(_ root: JSONValue) -> Date? {
        for value in [root["results"]?["timestamp"], root["metadata"]?["evaluationCreatedAt"]] {
            guard let text = value?.stringValue, text.utf8.count <= 64 else { continue }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime]
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// `config.providers` as the file lists them (objects with an `id`, or id strings), then any
    /// provider a cell names that the list lacks, in order of appearance.
    static func configuredProviders(_ listed: JSONValue?, records: [EvalResultRecord]) -> [EvalProvider] {
        var providers: [EvalProvider] = []
        var seen = Set<String>()
        for entry in listed?.arrayValue ?? [] {
            let id = entry["id"]?.stringValue ?? entry.stringValue
            guard let id, !id.isEmpty, seen.insert(id).inserted else { continue }
            let label = entry["label"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            providers.append(EvalProvider(id: id, label: label, model: id))
        }
        for record in records where seen.insert(record.providerID).inserted {
            providers.append(EvalProvider(id: record.providerID, label: record.providerLabel, model: record.providerID))
        }
        return providers
    }

    /// Each distinct value's rank in ascending order.
    private static func denseRanks(_ values: [Int]) -> [Int: Int] {
        Dictionary(uniqueKeysWithValues: Set(values).sorted().enumerated().map { ($1, $0) })
    }

    private static func row(
        _ record: EvalResultRecord, testIndex: Int, promptIndex: Int, provider: EvalProvider, prompt: EvalPrompt
    ) -> EvalResultRow {
        let failedCall = record.failureReason == .error
        // A cell that failed on its call has no answer (unless the file kept one) and no grading.
        let response: EvalResponse? = failedCall && record.output == nil
            ? nil : EvalResponse(output: record.output ?? "", costUSD: record.cost, latencyMs: record.latencyMs)
        let grading: GradingResult? = failedCall
            ? nil : GradingResult(pass: record.success, score: record.score, reason: record.success ? "" : (record.error ?? ""))
        return EvalResultRow(
            testIndex: testIndex, promptIndex: promptIndex, provider: provider, prompt: prompt, renderedPrompt: record.prompt,
            vars: record.vars, description: record.description, metadata: record.metadata, response: response,
            error: failedCall ? (record.error ?? "error") : nil, grading: grading)
    }
}

extension EvalReport {
    /// A page of the run's matrix for a viewer that draws its own table (the dashboard): rows of
    /// test × prompt in order, each with one cell per provider (null where it has none), outputs and
    /// reasons cut to `excerptBytes`. `providers` is the column order.
    public static func cellsJSON(_ run: EvalRun, offset: Int, limit: Int, excerptBytes: Int = 300) -> JSONValue {
        let matrix = EvalMatrix(run)
        let start = min(max(offset, 0), matrix.rows.count)
        let end = start + min(max(limit, 0), matrix.rows.count - start)
        func excerpt(_ text: String) -> JSONValue { .string(EvalReport.prefix(text, utf8Bytes: excerptBytes).map { $0 + "…" } ?? text) }
        let rows: [JSONValue] = matrix.rows[start..<end].map { row in
            let cells: [JSONValue] = row.cells.map { cell in
                guard let cell else { return .null }
                let output = cell.response.map(outputText) ?? ""
                var object: [String: JSONValue] = [
                    "verdict": .string(verdict(cell).lowercased()), "score": .double(cell.score.isFinite ? cell.score : 0),
                    "latency_ms": .double(cell.latencyMs.rounded()), "cost_usd": .double(cell.costUSD),
                    "output": excerpt(output), "output_bytes": .int(Int64(output.utf8.count)),
                ]
                let reasons = failureReasons(cell).joined(separator: "; ")
                if !reasons.isEmpty { object["reason"] = excerpt(reasons) }
                return .object(object)
            }
            return [
                "test": .int(Int64(row.key.testIndex)), "prompt": .int(Int64(row.key.promptIndex)),
                "label": excerpt(testLabel(index: row.key.testIndex, description: row.description, vars: row.vars)),
                "prompt_label": matrix.showsPrompt ? excerpt(row.prompt.label) : .null,
                "cells": .array(cells),
            ]
        }
        return [
            "providers": .array(matrix.providers.map { ["id": .string($0.id), "label": .string($0.label)] }),
            "rows_total": .int(Int64(matrix.rows.count)), "offset": .int(Int64(start)), "rows": .array(rows),
        ]
    }
}
