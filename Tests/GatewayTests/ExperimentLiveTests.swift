import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import Testing

@testable import Gateway

/// Experiments and prompt capture through the live server.
@Suite("Experiments and prompt capture, live", .serialized)
struct ExperimentLiveTests {
    static let extra = """
        request_log: {store_prompts: true}
        groups:
          - {name: g-strict, deployments: [{model: m-openai}], guardrails: strict}
          - {name: g-private, deployments: [{model: m-openai}], guardrails: private}
          - {name: g-watch, deployments: [{model: m-openai}], guardrails: watch}
          - {name: g-flag, deployments: [{model: m-openai}], guardrails: flagging}
        guardrails:
          policies:
            - {name: strict, input: {injection: block, pii: redact}}
            - {name: private, input: {pii: mask}}
            - {name: watch, mode: shadow, input: {pii: redact}}
            - {name: flagging, input: {pii: flag}}
        experiments:
          - name: reply
            variants:
              - {name: control, target: m-openai, weight: 1}
              - {name: claude, target: m-anthropic, weight: 1}
        """

    static func variant(of response: TestResponse) -> String? { response.header("x-switchyard-variant") }

    @Test func assignmentIsStickyPerUserAndRecorded() async throws {
        try await LiveHarness.run(extra: Self.extra, guardDetector: PhraseDetector()) { client, _, _ in
            var seen: [String: String] = [:]
            for user in ["alice", "bob", "carol", "dave", "erin", "frank"] {
                var variants: Set<String> = []
                for _ in 0..<3 {
                    let answer = try await client.post("/v1/chat/completions", json: Body.chat("reply", "hi", extra: ["user": .string(user)]))
                    #expect(answer.status == .ok, "\(answer.text)")
                    let variant = try #require(Self.variant(of: answer))
                    variants.insert(variant)
                    // The answer came from the variant's target.
                    #expect(answer.header("x-switchyard-model") == (variant == "reply/control" ? "m-openai" : "m-anthropic"))
                }
                #expect(variants.count == 1, "\(user): \(variants)")
                seen[user] = variants.first
            }
            // Anthropic's metadata.user_id is the same unit as OpenAI's user.
            let anthropic = try await client.post(
                "/v1/messages", json: Body.messages("reply", "hi", stream: true, extra: ["metadata": ["user_id": "alice"]]),
                headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"])
            #expect(anthropic.status == .ok && Self.variant(of: anthropic) == seen["alice"])
            // Streams say it in their head.
            let streamed = try await client.post("/v1/chat/completions", json: Body.chat("reply", "hi", stream: true, extra: ["user": "bob"]))
            #expect(Self.variant(of: streamed) == seen["bob"])
            // Without a user, an episode keeps its requests together.
            var episodeVariants: Set<String> = []
            for _ in 0..<4 {
                let answer = try await client.post(
                    "/v1/chat/completions", json: Body.chat("reply", "hi"), headers: [HTTPField.Name("x-switchyard-episode-id")!: "ep-sticky"])
                episodeVariants.insert(Self.variant(of: answer) ?? "")
            }
            #expect(episodeVariants.count == 1)

            let answer = try await client.post("/v1/chat/completions", json: Body.chat("reply", "logged", extra: ["user": "carol"]))
            let record = try await client.get("/v1/switchyard/requests/\(answer.header("x-switchyard-request-id") ?? "")")
            #expect(record.json?["model"] == "reply" && record.json?["variant"] == .string(seen["carol"] ?? "?"))
            #expect(record.json?["served_model"] == (seen["carol"] == "reply/control" ? "m-openai" : "m-anthropic"))
            // A plain model is no experiment: no header, no variant.
            let plain = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi"))
            #expect(Self.variant(of: plain) == nil)

            // The report: both arms, the requests made, the control first.
            let report = try await client.get("/v1/switchyard/experiments/reply")
            #expect(report.status == .ok, "\(report.text)")
            let variants = report.json?["variants"]?.arrayValue ?? []
            #expect(variants.map { $0["name"]?.stringValue } == ["control", "claude"])
            let total = variants.compactMap { $0["requests"]?.intValue }.reduce(0, +)
            #expect(total == 6 * 3 + 1 + 1 + 4 + 1)
            #expect(variants.allSatisfy { $0["latency_ms"]?["p50"] != nil && $0["cost_usd"]?["total"] != nil })
            let missing = try await client.get("/v1/switchyard/experiments/nope")
            #expect(missing.status == .notFound && missing.json?["error"]?["message"]?.stringValue?.contains("reply") == true)
            let models = try await client.get("/v1/models")
            #expect((models.json?["data"]?.arrayValue ?? []).contains { $0["id"] == "reply" && $0["switchyard"]?["type"] == "experiment" })
        }
    }

    @Test func aKeyMayUseAnExperimentOnlyByItsName() async throws {
        try await LiveHarness.run(extra: Self.extra, guardDetector: PhraseDetector()) { client, _, _ in
            // `sk-limited` may use m-openai only: the experiment's name is not among its models.
            let refused = try await client.post("/v1/chat/completions", json: Body.chat("reply", "hi"), key: "sk-limited")
            #expect(refused.status == .notFound && Self.variant(of: refused) == nil)
        }
    }

    /// The prompt kept is what went upstream: redacted or masked text, never the client's values;
    /// nothing where a guard saw personal data and left it in.
    @Test func promptsAreKeptAfterTheInputGuard() async throws {
        try await LiveHarness.run(extra: Self.extra, guardDetector: PhraseDetector()) { client, _, _ in
            func prompt(_ model: String, _ text: String) async throws -> JSONValue? {
                let answer = try await client.post("/v1/chat/completions", json: Body.chat(model, text, system: "You are terse."))
                #expect(answer.status == .ok, "\(model): \(answer.text)")
                let record = try await client.get("/v1/switchyard/requests/\(answer.header("x-switchyard-request-id") ?? "")")
                return record.json?["prompt"]
            }
            #expect(try await prompt("m-openai", "What is a gateway?") == "What is a gateway?")
            let redacted = try await prompt("g-strict", "Mail alice@example.com please")?.stringValue ?? ""
            #expect(redacted.contains("[EMAIL_ADDRESS]") && !redacted.contains("alice@example.com"))
            let masked = try await prompt("g-private", "Ask Bob at bob@example.com")?.stringValue ?? ""
            #expect(!masked.contains("Bob") && !masked.contains("bob@example.com") && masked.contains("[PERSON_1]"))
            #expect(try await prompt("g-watch", "Mail alice@example.com please") == nil)  // shadow: raw text went upstream
            #expect(try await prompt("g-flag", "Mail alice@example.com please") == nil)  // flagged, left in
            #expect(try await prompt("g-watch", "Nothing personal here") == "Nothing personal here")
            let long = try await prompt("m-openai", String(repeating: "word ", count: 3000))?.stringValue ?? ""
            #expect(long.utf8.count <= 8192 && long.hasSuffix(PromptCapture.cutMarker))
        }
    }

    @Test func promptsAreNotKeptByDefault() async throws {
        try await LiveHarness.run { client, _, _ in
            let answer = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "secret plans"))
            let record = try await client.get("/v1/switchyard/requests/\(answer.header("x-switchyard-request-id") ?? "")")
            #expect(record.status == .ok && record.json?["prompt"] == nil)
        }
    }
}
