import Embeddings
import Foundation
import Guardrails
import Synchronization
import Testing

@testable import Gateway
import Retrieval
import Storage
import SwitchyardCore

/// The local model (90 MB of weights, most of an idle gateway's memory) is read when something first needs it,
/// not when the gateway starts.
@Suite("The local model loads on first use")
struct LazyLocalModelTests {
    /// A stand-in for the local model that counts how often it is made.
    struct CountingEmbedder: TokenCountingEmbedder {
        var modelName: String { Gateway.localEmbeddingModel }
        var dimensions: Int { 4 }
        func embed(_ texts: [String]) async throws -> EmbeddingBatch {
            EmbeddingBatch(vectors: texts.map { text in [Float(text.count % 7) + 1, 1, Float(text.utf8.first ?? 0), 2] }, promptTokens: texts.count)
        }
        func tokenCount(_ text: String) -> Int { text.split(separator: " ").count }
    }

    /// How often the local model was made.
    final class LoadCount: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func gateway(database: String, loads: LoadCount) throws -> Gateway {
        let configuration = try ConfigurationLoader.parse(
            """
            storage: {sqlite: "\(database)"}
            providers:
              - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}
            models:
              - {name: m, provider: p, price: {input: 1, output: 1}}
            """, source: "t.yaml")
        let gateway = Gateway(
            configuration: configuration, requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")),
            localEmbedderFactory: { _, _ in
                loads.add()
                return CountingEmbedder()
            },
            retrievalPersistence: try RetrievalStore(path: database))
        try gateway.collections.load()
        return gateway
    }

    @Test func upsertingUnchangedDocumentsDoesNotLoadTheModel() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lazy-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("gw.sqlite").path
        let documents = (0..<3).map { RetrievalDocument(id: "d\($0)", text: "Document \($0) about gateways and keys.", title: "Doc \($0)") }

        let firstLoads = LoadCount()
        let first = try Self.gateway(database: database, loads: firstLoads)
        _ = try await first.createCollection(name: "docs", embeddingModel: Gateway.localEmbeddingModel, caller: Caller.anonymous)
        let added = try await first.upsertDocuments(documents, into: "docs", caller: Caller.anonymous)
        #expect(added.added == 3)
        #expect(firstLoads.value >= 1)

        // A restart (the demo's, every time): the same documents are found stored, and nothing reads the model.
        let againLoads = LoadCount()
        let again = try Self.gateway(database: database, loads: againLoads)
        let unchanged = try await again.upsertDocuments(documents, into: "docs", caller: Caller.anonymous)
        #expect(unchanged.unchanged == 3)
        #expect(againLoads.value == 0, "the model was loaded for documents that were all unchanged")
        // A changed one needs it: its chunks are counted in the model's own word-pieces.
        var changed = documents[0]
        changed.text += " Now with more words."
        let updated = try await again.upsertDocuments([changed], into: "docs", caller: Caller.anonymous)
        #expect(updated.updated == 1)
        #expect(againLoads.value >= 1)
    }

    static let guarded = try! ConfigurationLoader.parse(
        """
        providers:
          - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}
        models:
          - {name: m, provider: p, price: {input: 1, output: 1}, guardrails: strict}
        guardrails:
          policies:
            - {name: strict, input: {injection: block}}
        """, source: "t.yaml")

    @Test func guardrailsCheckTheModelsFilesAtStartAndReadThemOnTheFirstScan() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lazy-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // No files: the start stops, naming the command that fetches them.
        #expect(throws: SwitchyardError.self) {
            _ = try GuardDetectors.standard(for: Self.guarded, model: MiniLMEmbedder.Loader(directory: folder))
        }
        do {
            _ = try GuardDetectors.standard(for: Self.guarded, model: MiniLMEmbedder.Loader(directory: folder))
        } catch let error as SwitchyardError {
            #expect(error.message.contains("switchyard models pull all-minilm-l6-v2"))
        }
        // Files that are there but are not a model: the start goes on (nothing is read yet) ...
        for file in ["config.json", "vocab.txt", "model.safetensors"] {
            try Data("not a model".utf8).write(to: folder.appendingPathComponent(file))
        }
        let loader = MiniLMEmbedder.Loader(directory: folder)
        let detector = try #require(try GuardDetectors.standard(for: Self.guarded, model: loader))
        #expect(!loader.isLoaded)
        // ... and the first scan reads them, and fails (a guarded request then fails closed).
        await #expect(throws: (any Error).self) {
            _ = try await detector.scan([GuardScanItem(text: "hello", channel: .user, injection: true, pii: false)])
        }
        // No policy: no detector, nothing checked.
        let plain = try ConfigurationLoader.parse(
            "providers: [{name: p, kind: openai, base_url: \"http://127.0.0.1:1/v1\"}]\nmodels: [{name: m, provider: p, price: {input: 1, output: 1}}]",
            source: "t.yaml")
        #expect(try GuardDetectors.standard(for: plain, model: MiniLMEmbedder.Loader(directory: folder.appendingPathComponent("none"))) == nil)
    }
}
