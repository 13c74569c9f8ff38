import ArgumentParser
import Embeddings
import Foundation
import SwitchyardCore

/// `switchyard embed "text" …`: embed texts with the native local model.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with the local all-MiniLM-L6-v2 model and print the vectors' first values."
    )

    @Argument(help: "Texts to embed.")
    var texts: [String]

    @Option(name: .customLong("model-dir"), help: "Model folder (default: $SWITCHYARD_MODEL_DIR or ~/.cache/switchyard/models/all-minilm-l6-v2).")
    var modelDirectory: String?

    @Option(help: "How many leading components to print per vector.")
    var show = 8

    @Flag(help: "Print whole vectors as JSON arrays, one per line.")
    var json = false

    @Option(help: "Dense-layer precision: float32 (default) or bfloat16.")
    var precision: EmbeddingPrecision = .float32

    func run() async throws {
        let clock = ContinuousClock()
        let loadStart = clock.now
        let embedder: MiniLMEmbedder
        embedder = try MiniLMEmbedder.load(modelDirectory: modelDirectory, precision: precision)
        let loadTime = clock.now - loadStart
        let start = clock.now
        let batch = try await embedder.embed(texts)
        let elapsed = clock.now - start
        for (text, vector) in zip(texts, batch.vectors) {
            if json {
                print("[" + vector.map { String($0) }.joined(separator: ",") + "]")
                continue
            }
            let ids = embedder.tokenize(text)
            let head = vector.prefix(show).map { String(format: "%+.5f", $0) }.joined(separator: " ")
            print("\(text.debugDescription): \(vector.count) dims, \(ids.count) tokens, [\(head) …]")
        }
        let note = "model \(embedder.modelName), \(batch.promptTokens) tokens, load \(Self.milliseconds(loadTime)) ms, embed \(Self.milliseconds(elapsed)) ms, backend \(embedder.computeBackend)"
        if json {
            FileHandle.standardError.write(Data((note + "\n").utf8))
        } else {
            print(note)
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.2f", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }
}
