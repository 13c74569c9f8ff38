import Embeddings
import Foundation
import Guardrails
import Testing

import Gateway
import SwitchyardCore
import SwitchyardTesting

/// The shipped detector behind the live gateway: with the issue's `strict` and `private` policies, the gateway's
/// verdict on a text is the one `guard scan` gives for it, on rows of the dev sets.
@Suite(
    "Guardrails with the native detector, live", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["SWITCHYARD_SKIP_MODEL_TESTS"] != "1", "SWITCHYARD_SKIP_MODEL_TESTS=1"))
struct GuardrailsNativeLiveTests {
    static let extra = """
        groups:
          - {name: support-bot, deployments: [{model: m-openai}], guardrails: strict}
          - {name: private-bot, deployments: [{model: m-anthropic}], guardrails: private}
        guardrails:
          policies:
            - {name: strict, input: {injection: block, pii: redact}, output: {pii: redact}}
            - {name: private, input: {pii: mask}}
        """

    static let detector: Result<NativeGuardDetector, any Error> = Result {
        try NativeGuardDetector(embedder: MiniLMEmbedder.load(from: ModelStore.defaultDirectory(for: ModelCatalog.miniLM)))
    }

    /// `count` rows of a dev file, spread over it (every n-th), as (id, text) pairs.
    static func rows(_ file: String, count: Int, where keep: (JSONValue) -> Bool = { _ in true }) throws -> [(String, String)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data/guardrails/\(file)")
        let all = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap { JSONValue.parse(String($0)) }.filter(keep)
        let step = max(1, all.count / count)
        return stride(from: 0, to: all.count, by: step).prefix(count).compactMap { index in
            guard let id = all[index]["id"]?.stringValue, let text = all[index]["text"]?.stringValue else { return nil }
            return (id, text)
        }
    }

    static func userContent(_ body: String) -> String? {
        JSONValue.parse(body)?["messages"]?.arrayValue?.last?["content"]?.stringValue
    }

    @Test func injectionVerdictsMatchTheOfflineScan() async throws {
        let detector = try Self.detector.get()
        let rows = try Self.rows("injection-dev.jsonl", count: 30) { ($0["text"]?.stringValue?.count ?? 0) < 3000 }
        try await LiveHarness.run(extra: Self.extra, guardDetector: detector) { client, mock, _ in
            var blocked = 0
            for (id, text) in rows {
                await mock.clearRecordedRequests()
                let offline = try detector.scanInjection(text, channel: .user)
                let response = try await client.post("/v1/chat/completions", json: Body.chat("support-bot", text))
                if offline.flagged {
                    blocked += 1
                    #expect(response.status == .badRequest, "\(id)")
                    #expect(response.json?["error"]?["code"] == "guardrail_blocked", "\(id)")
                    #expect(await mock.recordedRequests().isEmpty, "\(id): nothing goes upstream")
                } else {
                    #expect(response.status == .ok, "\(id): \(response.text.prefix(200))")
                }
            }
            // Both verdicts occur among these rows, so the comparison means something.
            #expect(blocked > 3 && blocked < rows.count - 3)
        }
    }

    @Test func redactedRequestsCarryWhatTheOfflineScanRedacts() async throws {
        let detector = try Self.detector.get()
        let rows = try Self.rows("pii-dev.jsonl", count: 40) { !($0["spans"]?.arrayValue?.isEmpty ?? true) }
        try await LiveHarness.run(extra: Self.extra, guardDetector: detector) { client, mock, _ in
            for (id, text) in rows {
                await mock.clearRecordedRequests()
                let response = try await client.post("/v1/chat/completions", json: Body.chat("support-bot", text))
                guard !(try detector.scanInjection(text, channel: .user).flagged) else { continue }
                #expect(response.status == .ok, "\(id)")
                let sent = await mock.recordedRequests().first.flatMap { Self.userContent($0.bodyText) }
                #expect(sent == Redactor.redact(text, spans: try detector.scanPII(text)), "\(id)")
            }
        }
    }

    @Test func maskedValuesComeBackStreamedAndNot() async throws {
        let detector = try Self.detector.get()
        let text = "Please write to Maria Rossi at maria.rossi@example.com about card 4111 1111 1111 1111."
        try await LiveHarness.run(extra: Self.extra, guardDetector: detector) { client, mock, _ in
            for stream in [false, true] {
                await mock.clearRecordedRequests()
                let response = try await client.post("/v1/messages", json: Body.messages("private-bot", text + " [[echo]] [[piece-chars: 4]]", stream: stream))
                #expect(response.status == .ok)
                let sent = try #require(await mock.recordedRequests().first?.bodyText)
                #expect(!sent.contains("maria.rossi@example.com") && !sent.contains("4111 1111") && !sent.contains("Maria Rossi"), "\(sent)")
                #expect(sent.contains("[EMAIL_ADDRESS_1]") && sent.contains("[CREDIT_CARD_1]") && sent.contains("[PERSON_1]"))
                let answer = stream
                    ? response.events.compactMap { JSONValue.parse($0.data)?["delta"]?["text"]?.stringValue }.joined()
                    : response.json?["content"]?.arrayValue?.first?["text"]?.stringValue ?? ""
                #expect(answer == text, "stream=\(stream): \(answer)")
            }
        }
    }
}
