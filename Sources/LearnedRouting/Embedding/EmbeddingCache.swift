import Foundation
import SwitchyardCore

/// Embeddings of training prompts kept in a file keyed by a hash of the embedded text, so training,
/// calibration and evaluation reruns embed each prompt once.
///
/// File: one JSON header line `{"format", "model", "dimensions"}`, then records of an 8-byte
/// little-endian FNV-1a hash of the text followed by `dimensions` little-endian float32.
public struct EmbeddingCache: Sendable {
    public static let format = "switchyard-embedding-cache"

    public let path: String
    public let model: String
    public let dimensions: Int
    private var entries: [UInt64: [Float]] = [:]
    private var added = 0

    public var count: Int { entries.count }

    /// Opens the cache file, or starts an empty one when it does not exist or was made by another model.
    public init(path: String, model: String, dimensions: Int) {
        self.path = path
        self.model = model
        self.dimensions = dimensions
        guard let data = FileManager.default.contents(atPath: path), let newline = data.firstIndex(of: 0x0A),
            let header = try? JSONDecoder().decode([String: JSONValue].self, from: data[data.startIndex..<newline]),
            header["format"]?.stringValue == Self.format, header["model"]?.stringValue == model,
            header["dimensions"]?.intValue == dimensions
        else { return }
        let record = 8 + 4 * dimensions
        var offset = newline + 1
        data.withUnsafeBytes { raw in
            while offset + record <= data.count {
                let key = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                var vector = [Float](repeating: 0, count: dimensions)
                for index in 0..<dimensions {
                    vector[index] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8 + 4 * index, as: UInt32.self)))
                }
                entries[key] = vector
                offset += record
            }
        }
    }

    public func lookup(_ text: String) -> [Float]? { entries[stableHash(text)] }

    public mutating func insert(_ text: String, _ vector: [Float]) {
        precondition(vector.count == dimensions)
        if entries.updateValue(vector, forKey: stableHash(text)) == nil { added += 1 }
    }

    /// Rewrites the file when anything was added.
    public mutating func save() throws {
        guard added > 0 else { return }
        let header: JSONValue = ["format": .string(Self.format), "model": .string(model), "dimensions": .int(Int64(dimensions))]
        var data = try JSONEncoder().encode(header)
        data.append(0x0A)
        data.reserveCapacity(data.count + entries.count * (8 + 4 * dimensions))
        for key in entries.keys.sorted() {
            var bits = key.littleEndian
            withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
            for value in entries[key]! {
                var valueBits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &valueBits) { data.append(contentsOf: $0) }
            }
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        added = 0
    }

    /// Embeddings of every text, from the cache or the embedder (in batches), in input order.
    public mutating func embed(
        _ texts: [String], with embedder: any TextEmbedder, batchSize: Int = 64, progress: (Int, Int) -> Void = { _, _ in }
    ) async throws -> EmbeddingMatrix {
        let missing = Array(Set(texts.filter { lookup($0) == nil })).sorted()
        var done = 0
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            let batch = Array(missing[start..<min(missing.count, start + batchSize)])
            let vectors = try await embedder.embed(batch).vectors
            for (text, vector) in zip(batch, vectors) { insert(text, vector) }
            done += batch.count
            progress(done, missing.count)
            if done % (batchSize * 20) == 0 { try save() }
        }
        try save()
        var values: [Float] = []
        values.reserveCapacity(texts.count * dimensions)
        for text in texts { values += lookup(text)! }
        return EmbeddingMatrix(dimensions: dimensions, values: values)
    }
}
