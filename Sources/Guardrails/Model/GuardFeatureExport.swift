import Embeddings
import Foundation

/// Writes the features the heads are trained on, for `scripts/guard/train.py` (`switchyard guard features`):
/// per window the pooled vector, per word the word row, each as little-endian float32 rows in a `.f32` file with
/// a JSON Lines index beside it (`{"id", "index", "start", "end"}`, offsets in Unicode scalars).
public struct GuardFeatureExport {
    let encoder: GuardEncoder

    /// - Parameters: injectionLayer, piiLayer: the encoder layers (1-based) the windows and the words are read from.
    public init(embedder: MiniLMEmbedder, injectionLayer: Int, piiLayer: Int) {
        encoder = GuardEncoder(embedder: embedder, injectionLayer: injectionLayer, piiLayer: piiLayer)
    }

    /// Encodes `rows` (id, text) in batches and writes `prefix.windows.{f32,jsonl}` and `prefix.words.{f32,jsonl}`.
    public func write(rows: [(id: String, text: String)], prefix: String) throws {
        var windowVectors = Data(), windowIndex = Data(), wordVectors = Data(), wordIndex = Data()
        let batchSize = 16
        var position = 0
        while position < rows.count {
            let batch = Array(rows[position..<min(rows.count, position + batchSize)])
            position += batch.count
            for (row, encoded) in zip(batch, encoder.encode(batch: batch.map(\.text))) {
                for w in encoded.windows.indices {
                    Self.append(encoded.pooled(window: w), to: &windowVectors)
                    let range = encoded.windows[w].words
                    let start = range.isEmpty ? 0 : encoded.words[range.lowerBound].start
                    let end = range.isEmpty ? 0 : encoded.words[range.upperBound - 1].end
                    try Self.line(["id": row.id, "index": w, "start": start, "end": end, "kind": "window"], to: &windowIndex)
                }
                for (k, segment) in encoded.segments().enumerated() {
                    Self.append(encoded.pooled(window: segment.window, rows: segment.rows), to: &windowVectors)
                    let start = encoded.words[segment.words.lowerBound].start, end = encoded.words[segment.words.upperBound - 1].end
                    try Self.line(["id": row.id, "index": encoded.windows.count + k, "start": start, "end": end, "kind": "sentence"], to: &windowIndex)
                }
                for (index, features) in encoded.wordFeatures().enumerated() {
                    Self.append(features, to: &wordVectors)
                    let word = encoded.words[index]
                    try Self.line(["id": row.id, "index": index, "start": word.start, "end": word.end], to: &wordIndex)
                }
            }
        }
        try windowVectors.write(to: URL(fileURLWithPath: prefix + ".windows.f32"))
        try windowIndex.write(to: URL(fileURLWithPath: prefix + ".windows.jsonl"))
        try wordVectors.write(to: URL(fileURLWithPath: prefix + ".words.f32"))
        try wordIndex.write(to: URL(fileURLWithPath: prefix + ".words.jsonl"))
    }

    private static func append(_ vector: [Float], to data: inout Data) {
        vector.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
    }

    private static func line(_ object: [String: Any], to data: inout Data) throws {
        data.append(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        data.append(0x0A)
    }
}
