import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

import Gateway
@testable import Server
import SwitchyardCore

/// Issue 19's endpoints end to end: client → Switchyard (port 0) → mock upstream.
@Suite("Live: paths with and without /v1, models by id, completions, count_tokens, token-id embeddings")
struct APISurfaceLiveTests {
    static let anthropicHeaders: HTTPFields = [HTTPField.Name("anthropic-version")!: "2023-06-01"]

    /// One authorization rule per method and path: each model-serving path, with and without `/v1`.
    @Test func everyModelServingPathNeedsUseModels() {
        for prefix in ["/v1", ""] {
            for (method, path) in [
                (HTTPRequest.Method.post, "/chat/completions"), (.post, "/completions"), (.post, "/embeddings"), (.get, "/models"),
                (.get, "/models/m-openai"), (.get, "/models/local/all-minilm-l6-v2"), (.post, "/messages"),
                (.post, "/messages/count_tokens"),
            ] {
                #expect(EndpointPolicy.permission(method: method, path: prefix + path) == .useModels, "\(method) \(prefix)\(path)")
            }
        }
        #expect(EndpointPolicy.permission(method: .post, path: "/v1/models/m-openai") == nil)
        #expect(EndpointPolicy.matches(["models", "**"], ["models"]) == false)
        #expect(EndpointPolicy.isAnthropic("/messages/count_tokens") && !EndpointPolicy.isAnthropic("/messagesx"))
    }

    /// Every model-serving endpoint answers with and without `/v1`, the same way.
    @Test(arguments: ["/v1", ""])
    func everyModelServingPathAnswersWithAndWithoutV1(prefix: String) async throws {
        try await LiveHarness.run { client, _, _ in
            let chat = try await client.post("\(prefix)/chat/completions", json: Body.chat("m-openai", "Hello"))
            #expect(chat.status == .ok)
            let messages = try await client.post(
                "\(prefix)/messages", json: #"{"model":"m-openai","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(messages.status == .ok && messages.json?["type"] == "message")
            let completion = try await client.post("\(prefix)/completions", json: #"{"model":"m-openai","prompt":"Hi"}"#)
            #expect(completion.status == .ok && completion.json?["object"] == "text_completion")
            let embeddings = try await client.post("\(prefix)/embeddings", json: #"{"model":"e-openai","input":"a"}"#)
            #expect(embeddings.status == .ok)
            #expect(try await client.get("\(prefix)/models").status == .ok)
            #expect(try await client.get("\(prefix)/models/m-openai").json?["id"] == "m-openai")
            let count = try await client.post(
                "\(prefix)/messages/count_tokens", json: #"{"model":"m-openai","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(count.status == .ok && (count.json?["input_tokens"]?.intValue ?? 0) > 0)
            // The key is checked on every one of them, and refusals come in the path's own envelope.
            let refused = try await client.post("\(prefix)/messages", json: "{}", key: "sk-wrong")
            #expect(refused.status == .unauthorized && refused.json?["type"] == "error")
            #expect(try await client.get("\(prefix)/models/m-openai", key: nil).status == .unauthorized)
        }
    }

    @Test func modelByIDInBothShapes() async throws {
        try await LiveHarness.run { client, _, _ in
            let model = try await client.get("/v1/models/m-anthropic")
            let json = try #require(model.json)
            #expect(json["id"] == "m-anthropic" && json["object"] == "model" && json["owned_by"] == "up-anthropic")
            #expect(json["created"] == 0 && json["switchyard"]?["upstream"] == "claude-3-5-haiku-latest")

            let missing = try await client.get("/v1/models/no-such-model")
            #expect(missing.status == .notFound && missing.json?["error"]?["code"] == "model_not_found")

            let limited = try await client.get("/v1/models/m-anthropic", key: "sk-limited")
            #expect(limited.status == .notFound)  // a model the key may not use does not exist for it

            let response = try await client.execute(
                uri: "/v1/models/m-anthropic", method: .get,
                headers: Self.anthropicHeaders + [.authorization: "Bearer \(LiveHarness.clientKey)"])
            #expect(response.json?["type"] == "model" && response.json?["id"] == "m-anthropic")
            let anthropicMissing = try await client.execute(
                uri: "/v1/models/nope", method: .get, headers: Self.anthropicHeaders + [.authorization: "Bearer \(LiveHarness.clientKey)"])
            #expect(anthropicMissing.status == .notFound && anthropicMissing.json?["error"]?["type"] == "not_found_error")
        }
    }

    @Test func modelIDsWithSlashes() async throws {
        try await LiveHarness.run(extra: "groups: [{name: team/fast, deployments: [m-openai]}]") { client, _, _ in
            let plain = try await client.get("/v1/models/team/fast")
            let encoded = try await client.get("/models/team%2Ffast")
            #expect(plain.json?["id"] == "team/fast" && encoded.json?["id"] == "team/fast")
        }
    }

    @Test func completionNonStreamed() async throws {
        try await LiveHarness.run { client, mock, _ in
            let response = try await client.post(
                "/v1/completions", json: #"{"model":"m-openai","prompt":"Say [[reply: four score]]","max_tokens":7,"echo":true}"#)
            #expect(response.status == .ok)
            let json = try #require(response.json)
            #expect(json["object"] == "text_completion" && json["id"]?.stringValue?.hasPrefix("cmpl-") == true)
            let choice = json["choices"]?.arrayValue?.first
            #expect(choice?["text"] == "Say [[reply: four score]]four score" && choice?["finish_reason"] == "stop")
            #expect(choice?["logprobs"] == .null && choice?["index"] == 0)
            #expect((json["usage"]?["total_tokens"]?.intValue ?? 0) > 0 && json["switchyard"]?["cost_usd"] != nil)
            #expect(response.header("x-switchyard-cost-usd") != nil && response.header("x-switchyard-model") == "m-openai")
            // The prompt reached the upstream as one user message, with the output cap.
            let sent = try #require(await mock.recordedRequests().last)
            let body = try #require(JSONValue.parse(sent.body))
            #expect(body["messages"] == [["role": "user", "content": "Say [[reply: four score]]"]] && body["max_tokens"] == 7)

            let two = try await client.post("/v1/completions", json: #"{"model":"m-anthropic","prompt":["[[reply: a]]","[[reply: b]]"]}"#)
            #expect(two.json?["choices"]?.arrayValue?.map { $0["text"] } == ["a", "b"])
            #expect(two.json?["choices"]?.arrayValue?.map { $0["index"] } == [0, 1])

            let refused = try await client.post("/v1/completions", json: #"{"model":"m-openai","prompt":"x","n":3}"#)
            #expect(refused.status == .badRequest && refused.json?["error"]?["param"] == "n")
        }
    }

    @Test(arguments: LiveHarness.providerModels)
    func completionStreamed(model: String) async throws {
        try await LiveHarness.run { client, _, _ in
            let response = try await client.post(
                "/v1/completions",
                json: #"{"model":"\#(model)","prompt":"[[reply: one two three]]","stream":true,"stream_options":{"include_usage":true}}"#)
            #expect(response.status == .ok && response.header("content-type") == "text/event-stream")
            let events = response.events.map(\.data)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { JSONValue.parse($0) }
            #expect(chunks.allSatisfy { $0["object"] == "text_completion" })
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["text"]?.stringValue }.joined()
            #expect(text == "one two three")
            #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
            #expect((chunks.last?["usage"]?["completion_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test func countTokensExactForAnthropicEstimatedElsewhere() async throws {
        try await LiveHarness.run { client, mock, _ in
            let body = #"{"model":"MODEL","system":"Be brief.","messages":[{"role":"user","content":"How many tokens is this?"}]}"#
            let exact = try await client.post("/v1/messages/count_tokens", json: body.replacingOccurrences(of: "MODEL", with: "m-anthropic"))
            #expect(exact.status == .ok && exact.header("x-switchyard-tokens-estimated") == nil)
            // The mock counts ("Be brief." 3+4) + ("How many tokens is this?" 6+4) = 17, unlike the gateway's estimate.
            #expect(exact.json?["input_tokens"] == 17)
            let sent = try #require(await mock.recordedRequests().last)
            #expect(sent.path == "/v1/messages/count_tokens")
            let upstream = try #require(JSONValue.parse(sent.body))
            #expect(upstream["model"] == "claude-3-5-haiku-latest" && upstream["max_tokens"] == nil)

            let estimated = try await client.post(
                "/v1/messages/count_tokens", json: body.replacingOccurrences(of: "MODEL", with: "m-gemini"))
            #expect(estimated.status == .ok && estimated.header("x-switchyard-tokens-estimated") == "true")
            #expect((estimated.json?["input_tokens"]?.intValue ?? 0) > 0)

            let missing = try await client.post("/v1/messages/count_tokens", json: body.replacingOccurrences(of: "MODEL", with: "nope"))
            #expect(missing.status == .notFound && missing.json?["type"] == "error")
            let bad = try await client.post("/v1/messages/count_tokens", json: #"{"model":"m-anthropic","messages":5}"#)
            #expect(bad.status == .badRequest && bad.json?["error"]?["type"] == "invalid_request_error")
        }
    }

    @Test func embeddingsFromTokenIDs() async throws {
        try await LiveHarness.run { client, mock, _ in
            let response = try await client.post("/v1/embeddings", json: #"{"model":"e-openai","input":[[15339, 1917], [42]]}"#)
            #expect(response.status == .ok)
            #expect(response.json?["data"]?.arrayValue?.count == 2)
            let sent = try #require(await mock.recordedRequests().last)
            #expect(JSONValue.parse(sent.body)?["input"] == [[15339, 1917], [42]])

            let single = try await client.post("/v1/embeddings", json: #"{"model":"e-openai","input":[15339, 1917]}"#)
            #expect(single.status == .ok && single.json?["data"]?.arrayValue?.count == 1)
            #expect(JSONValue.parse(try #require(await mock.recordedRequests().last).body)?["input"] == [15339, 1917])

            for model in ["e-gemini", "e-ollama"] {
                let refused = try await client.post("/v1/embeddings", json: #"{"model":"\#(model)","input":[[15339]]}"#)
                #expect(refused.status == .badRequest && refused.json?["error"]?["param"] == "input", "\(model)")
            }
            let hostile = try await client.post("/v1/embeddings", json: #"{"model":"e-openai","input":[[1, 4294967296]]}"#)
            #expect(hostile.status == .badRequest && hostile.json?["error"]?["param"] == "input[0][1]")
        }
    }

    @Test(arguments: [false, true])
    func anthropicMaxTokensIsCappedAndSaid(stream: Bool) async throws {
        try await LiveHarness.run { client, mock, _ in
            let body = #"{"model":"MODEL","max_tokens":128000,"stream":\#(stream),"messages":[{"role":"user","content":"Hi"}]}"#
            // m-capped allows 8192 output tokens: LiteLLM's 128000 is lowered, not refused, and the client is told.
            let capped = try await client.post("/v1/messages", json: body.replacingOccurrences(of: "MODEL", with: "m-capped"))
            #expect(capped.status == .ok && capped.header("x-switchyard-max-tokens-capped") == "128000->8192")
            #expect(JSONValue.parse(try #require(await mock.recordedRequests().last).body)?["max_tokens"] == 8192)
            // A model without limits gets what was asked, and nothing is said.
            let plain = try await client.post("/v1/messages", json: body.replacingOccurrences(of: "MODEL", with: "m-anthropic"))
            #expect(plain.status == .ok && plain.header("x-switchyard-max-tokens-capped") == nil)
            #expect(JSONValue.parse(try #require(await mock.recordedRequests().last).body)?["max_tokens"] == 128000)
            // OpenAI-protocol requests keep their max_tokens: there the field is optional and meant.
            let openAI = try await client.post(
                "/v1/chat/completions", json: #"{"model":"m-capped","max_tokens":300000,"messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(openAI.status == .badRequest && openAI.header("x-switchyard-max-tokens-capped") == nil)
        }
    }
}
