import Foundation
import SwitchyardTesting
import Testing

@Suite("Gemini wire protocol")
struct GeminiMockTests {
    static func contents(_ text: String) -> [[String: Any]] { [["role": "user", "parts": [["text": text]]]] }

    @Test func generateContent() async throws {
        try await withMock { mock in
            let reply = try await mock.gemini("gemini-2.0-flash", "generateContent", ["contents": Self.contents("[[cached: 2]] hi")])
            #expect(reply.status == 200)
            let candidate = reply.object[array: "candidates"][0]
            #expect(candidate[object: "content"][string: "role"] == "model")
            #expect(candidate[object: "content"][array: "parts"][0][string: "text"] == "Mock reply from gemini model gemini-2.0-flash.")
            #expect(candidate[string: "finishReason"] == "STOP")
            let usage = reply.object[object: "usageMetadata"]
            #expect(usage[int: "cachedContentTokenCount"] == 2)
            #expect(usage[int: "totalTokenCount"] == (usage[int: "promptTokenCount"] ?? 0) + (usage[int: "candidatesTokenCount"] ?? 0))
        }
    }

    @Test func streamGenerateContentSSE() async throws {
        try await withMock { mock in
            let reply = try await mock.gemini(
                "gemini-2.0-flash", "streamGenerateContent", ["contents": Self.contents("[[reply: alpha beta gamma]] [[stop: length]]")],
                query: "?alt=sse")
            #expect(reply.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            #expect(!reply.text.contains("[DONE]"))
            let chunks = reply.dataObjects
            #expect(chunks.count >= 3)
            let text = chunks.flatMap { $0[array: "candidates"].first?[object: "content"][array: "parts"] ?? [] }
                .compactMap { $0[string: "text"] }.joined()
            #expect(text == "alpha beta gamma")
            #expect(chunks.last?[array: "candidates"].first?[string: "finishReason"] == "MAX_TOKENS")
            #expect(chunks.last?[object: "usageMetadata"][int: "candidatesTokenCount"] == 4)
        }
    }

    @Test func streamWithoutSSEIsAJSONArray() async throws {
        try await withMock { mock in
            let reply = try await mock.gemini("g", "streamGenerateContent", ["contents": Self.contents("hi")])
            #expect(reply.array.count >= 2)
        }
    }

    @Test func functionCallsAndResponses() async throws {
        try await withMock { mock in
            let call = try await mock.gemini("g", "generateContent", [
                "contents": Self.contents(#"[[tool: get_weather {"city": "Rome"}]]"#),
                "tools": [["functionDeclarations": [["name": "get_weather", "parameters": ["type": "object"]]]]],
            ])
            let part = try #require(call.object[array: "candidates"][0][object: "content"][array: "parts"].first)
            #expect(part[object: "functionCall"][string: "name"] == "get_weather")
            #expect(part[object: "functionCall"][object: "args"][string: "city"] == "Rome")
            #expect(call.object[array: "candidates"][0][string: "finishReason"] == "STOP")

            let answer = try await mock.gemini("g", "generateContent", [
                "contents": Self.contents(#"[[tool: get_weather {"city": "Rome"}]]"#) + [
                    ["role": "model", "parts": [["functionCall": ["name": "get_weather", "args": ["city": "Rome"]]]]],
                    ["role": "user", "parts": [["functionResponse": ["name": "get_weather", "response": ["result": "warm"]]]]],
                ],
            ])
            #expect(answer.object[array: "candidates"][0][object: "content"][array: "parts"][0][string: "text"] == "Tool results: warm")
        }
    }

    @Test func jsonMimeTypeWithSchema() async throws {
        try await withMock { mock in
            let reply = try await mock.gemini("g", "generateContent", [
                "contents": Self.contents("give json"),
                "generationConfig": [
                    "responseMimeType": "application/json",
                    "responseSchema": ["type": "OBJECT", "properties": ["count": ["type": "integer"]], "required": ["count"]],
                ],
            ])
            let text = try #require(reply.object[array: "candidates"][0][object: "content"][array: "parts"][0][string: "text"])
            #expect(MockReply.parse(text)?[int: "count"] == 1)
        }
    }

    @Test func embeddings() async throws {
        try await withMock { mock in
            let single = try await mock.gemini(
                "text-embedding-004", "embedContent", ["content": ["parts": [["text": "hello"]]], "outputDimensionality": 8])
            #expect((single.object[object: "embedding"]["values"] as? [Double])?.count == 8)

            let batch = try await mock.gemini("text-embedding-004", "batchEmbedContents", [
                "requests": [
                    ["model": "models/text-embedding-004", "content": ["parts": [["text": "a"]]]],
                    ["model": "models/text-embedding-004", "content": ["parts": [["text": "b"]]]],
                ],
            ])
            let embeddings = batch.object[array: "embeddings"]
            #expect(embeddings.count == 2)
            #expect((embeddings[0]["values"] as? [Double])?.count == 16)
        }
    }

    @Test func apiKeyByHeaderOrQuery() async throws {
        try await withMock(MockUpstreamConfiguration(geminiKey: "g-key")) { mock in
            let body: [String: Any] = ["contents": Self.contents("hi")]
            let missing = try await mock.gemini("g", "generateContent", body)
            #expect(missing.status == 401)
            #expect(missing.object[object: "error"][string: "status"] == "UNAUTHENTICATED")
            #expect(try await mock.gemini("g", "generateContent", body, query: "?key=g-key").status == 200)
            #expect(try await mock.gemini("g", "generateContent", body, headers: [("x-goog-api-key", "g-key")]).status == 200)
        }
    }
}
