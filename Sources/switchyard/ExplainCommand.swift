import ArgumentParser
import Foundation
import Storage
import NIOHTTP1
import SwitchyardCore

/// `switchyard explain <request-id>`: why a request went where it went.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Show the routing decision and attempts of one logged request, or the steps of a workflow run.")

    @Argument(help: "The request id (x-switchyard-request-id), or a workflow run's id (wfr_…, x-switchyard-workflow-run).")
    var requestID: String

    @Option(name: .shortAndLong, help: "Configuration whose storage (storage.sqlite or storage.postgres) to read (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Path of the SQLite file (instead of --config).")
    var db: String?

    @Flag(help: "Print the record as JSON.")
    var json = false

    @Option(help: "API key for a gateway with auth on (default: $SWITCHYARD_KEY).")
    var key: String?

    func run() async throws {
        if requestID.hasPrefix("wfr_") {
            try await explainWorkflowRun()
            return
        }
        guard let record = try await RequestLogSource.record(id: requestID, config: config, db: db, key: key) else {
            throw CommandFailure("No request '\(requestID.quotedPrefix(80))' in the request log.", .notFound)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(record), as: UTF8.self))
            return
        }
        print("request \(record.id) at \(ISO8601DateFormatter().string(from: record.createdAt)) by \(record.caller) (\(record.clientProtocol), \(record.stream ? "stream" : "non-stream"))")
        print("asked for '\(record.model)'; served by \(record.provider ?? "-") / \(record.upstreamModel ?? "-"); status \(record.status)")
        print(String(format: "tokens %d in (%d cached) / %d out%@, cost $%.10f, latency %.1f ms%@", record.promptTokens, record.cachedTokens,
                     record.completionTokens, record.usageEstimated ? " (estimated)" : "", record.costUSD, record.latencyMs,
                     record.ttftMs.map { String(format: ", first token %.1f ms", $0) } ?? ""))
        if let error = record.error { print("error: \(error)") }
        if let episode = record.episodeID { print("episode: \(episode)") }
        if let variant = record.variant { print("experiment: \(variant) (variant of the experiment the request asked for)") }
        if let prompt = record.prompt {
            let line = prompt.split(whereSeparator: \.isNewline).joined(separator: " ")
            print("prompt (as sent upstream): \(line.count > 200 ? String(line.prefix(200)) + "…" : line)")
        }
        for feedback in record.feedback ?? [] {
            let on = feedback.requestID != nil ? "request" : "episode \(feedback.episodeID ?? "-")"
            var line = "feedback \(feedback.metric) = \(feedback.value.json.jsonString()) on the \(on) at \(ISO8601DateFormatter().string(from: feedback.createdAt))"
            if let comment = feedback.comment, !comment.isEmpty {
                let flat = comment.split(whereSeparator: \.isNewline).joined(separator: " ")
                line += " — \(flat.count > 160 ? String(flat.prefix(160)) + "…" : flat)"
            }
            print(line)
        }
        if let guardrail = record.guardrail {
            print("guardrail: \(guardrail.summary)")
            for finding in guardrail.findings {
                var line = "  \(finding.stage) \(finding.category)"
                if let channel = finding.channel { line += " in \(channel)" }
                line += ": \(finding.action)"
                if let types = finding.types, !types.isEmpty {
                    line += " " + types.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
                }
                if let score = finding.score { line += String(format: " (score %.2f)", score) }
                if let detail = finding.detail { line += " — \(detail)" }
                print(line)
            }
        }
        guard let route = record.route else { return }
        print("route: \(route.kind) '\(route.requested)'\(route.strategy.map { ", strategy \($0)" } ?? "")")
        if let features = route.features, let score = features["score"]?.doubleValue {
            print(String(format: "decision: score %.4f", score) + " -> tier \(features["tier"]?.stringValue ?? "none") (\(features["classifier"]?.stringValue ?? "-"))")
        }
        if let features = route.features {
            for (key, value) in features.sorted(by: { $0.key < $1.key }) { print("  feature \(key) = \(value.jsonString())") }
        }
        for candidate in route.candidates {
            print("  candidate \(candidate.deployment) [\(candidate.group)]: \(candidate.excluded.map { "dropped — \($0)" } ?? "kept")")
        }
        for attempt in route.attempts {
            print(String(format: "  attempt %@ via %@ (retry %d): %d in %.1f ms%@", attempt.deployment, attempt.provider, attempt.retry,
                         attempt.status, attempt.milliseconds, attempt.error.map { " — \($0)" } ?? ""))
        }
        for note in route.notes { print("  note: \(note)") }
    }
}
