import Foundation
import Testing
@testable import Embeddings

/// Where the shared test data and the model live, and how to read the reference file.
enum TestSupport {
    /// `../shared` beside the repository (or `$SWITCHYARD_SHARED_DIR`).
    static var sharedDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["SWITCHYARD_SHARED_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        // <repo>/Tests/EmbeddingsTests/TestSupport.swift → <repo>/../shared. The dev package links
        // this folder in, so resolve symlinks first.
        let file = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let repo = file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static var skipModelTests: Bool {
        ProcessInfo.processInfo.environment["SWITCHYARD_SKIP_MODEL_TESTS"] == "1"
    }

    static var modelDirectory: URL { ModelStore.defaultDirectory(for: ModelCatalog.miniLM) }

    /// The model, loaded once for all tests. Fails (rather than skips) when it is missing, with
    /// the command that fetches it — unless SWITCHYARD_SKIP_MODEL_TESTS=1.
    static func embedder() throws -> MiniLMEmbedder {
        switch shared {
        case .success(let embedder): return embedder
        case .failure(let error): throw error
        }
    }

    private static let shared: Result<MiniLMEmbedder, EmbeddingsError> = {
        do {
            return .success(try MiniLMEmbedder.load(from: modelDirectory))
        } catch let error as EmbeddingsError {
            return .failure(error)
        } catch {
            return .failure(EmbeddingsError(.io, "\(error)"))
        }
    }()

    struct ReferenceRow: Decodable, Sendable {
        var text: String
        var input_ids: [Int32]
        var embedding: [Float]
    }

    static func referenceRows() throws -> [ReferenceRow] {
        let url = sharedDirectory.appendingPathComponent("data/minilm-reference.jsonl")
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(ReferenceRow.self, from: Data($0)) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y)
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}

/// Enables a test only when the model tests are not explicitly skipped.
let modelTestsEnabled = ConditionTrait.enabled(if: !TestSupport.skipModelTests, "SWITCHYARD_SKIP_MODEL_TESTS=1")
