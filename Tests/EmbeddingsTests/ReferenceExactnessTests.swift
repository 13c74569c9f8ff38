import Foundation
import Testing
@testable import Embeddings

/// The native model against the reference library's output in shared/data/minilm-reference.jsonl.
@Suite("all-MiniLM-L6-v2 against the reference", .serialized, modelTestsEnabled)
struct ReferenceExactnessTests {
    @Test("token ids equal the reference tokenizer's on every line")
    func tokenIDs() throws {
        let embedder = try TestSupport.embedder()
        let rows = try TestSupport.referenceRows()
        #expect(rows.count == 200)
        var mismatches: [String] = []
        for (index, row) in rows.enumerated() {
            let ids = embedder.tokenize(row.text)
            if ids != row.input_ids {
                let position = zip(ids, row.input_ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, row.input_ids.count)
                mismatches.append("line \(index + 1) \(row.text.debugDescription.prefix(60)): first difference at \(position), ours \(ids.count) ids, reference \(row.input_ids.count)")
            }
        }
        print("tokenizer: \(rows.count - mismatches.count)/\(rows.count) lines identical")
        #expect(mismatches.isEmpty, "\(mismatches.count) lines differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
    }

    @Test("embeddings of the reference ids reach cosine >= 0.9999 (OpenBLAS or default backend)")
    func encoderFromReferenceIDs() throws {
        let embedder = try TestSupport.embedder()
        try checkCosines(embedder, label: "encoder (\(embedder.computeBackend)), reference ids") { rows in
            embedder.embedTokenized(rows.map(\.input_ids))
        }
    }

    @Test("embeddings of the texts reach cosine >= 0.9999 end to end")
    func endToEnd() async throws {
        let embedder = try TestSupport.embedder()
        let rows = try TestSupport.referenceRows()
        let batch = try await embedder.embed(rows.map(\.text))
        #expect(batch.promptTokens == rows.reduce(0) { $0 + $1.input_ids.count })
        try checkCosines(embedder, label: "end to end, texts") { _ in batch.vectors }
    }

    @Test("every kernel combination gives the same embeddings", arguments: [
        (blas: true, avx512: false), (blas: false, avx512: true), (blas: false, avx512: false),
    ])
    func kernels(blas: Bool, avx512: Bool) throws {
        let embedder = try TestSupport.embedder().withKernels(blas: blas, avx512: avx512)
        try checkCosines(embedder, label: "encoder (\(embedder.computeBackend)), reference ids", limit: blas || avx512 ? nil : 40) { rows in
            embedder.embedTokenized(rows.map(\.input_ids))
        }
    }

    @Test("the bfloat16 option also reaches cosine >= 0.9999, batched and one text at a time", .enabled(if: CPUFeatures.current.avx512BF16, "CPU without AVX512_BF16"))
    func bfloat16() throws {
        // Every dense layer runs in bf16, batches included, with or without OpenBLAS.
        let embedder = try MiniLMEmbedder.load(from: TestSupport.modelDirectory, precision: .bfloat16)
        #expect(embedder.precision == .bfloat16)
        try checkCosines(embedder, label: "encoder (bfloat16, batches of 32), reference ids") { rows in
            embedder.embedTokenized(rows.map(\.input_ids))
        }
        try checkCosines(embedder, label: "encoder (bfloat16, one text per call), reference ids") { rows in
            rows.map { embedder.embedTokenized([$0.input_ids])[0] }
        }
    }

    @Test("one loaded model serves both precisions, and each precision is made once")
    func loaderSharesTheModel() throws {
        let loader = MiniLMEmbedder.Loader(directory: TestSupport.modelDirectory)
        let exact = try loader.embedder(precision: .float32)
        #expect(try loader.embedder(precision: .float32) === exact)
        let fast = try loader.embedder(precision: .bfloat16)
        #expect(try loader.embedder(precision: .bfloat16) === fast)
        #expect(fast.precision == (CPUFeatures.current.avx512BF16 ? .bfloat16 : .float32))
        let text = "How long does the semantic cache keep an answer?"
        #expect(TestSupport.cosine(exact.embedSync([text])[0], fast.embedSync([text])[0]) > 0.9999)
    }

    @Test("one text alone and inside a batch give the same vector")
    func batchIndependence() throws {
        let embedder = try TestSupport.embedder()
        let texts = ["Good morning.", "A much longer sentence about databases, caches and the latency of queries.", "短い"]
        let together = embedder.embedSync(texts)
        for (text, vector) in zip(texts, together) {
            let alone = embedder.embedSync([text])[0]
            #expect(TestSupport.cosine(alone, vector) > 0.999999)
        }
        #expect(embedder.embedSync([]).isEmpty)
    }

    private func checkCosines(
        _ embedder: MiniLMEmbedder, label: String, limit: Int? = nil, bar: Double = 0.9999, _ run: ([TestSupport.ReferenceRow]) -> [[Float]]
    ) throws {
        var rows = try TestSupport.referenceRows()
        if let limit { rows = Array(rows.prefix(limit / 2) + rows.suffix(limit / 2)) }
        let vectors = run(rows)
        try #require(vectors.count == rows.count)
        let cosines = zip(vectors, rows).map { TestSupport.cosine($0, $1.embedding) }
        let maxDifference = zip(vectors, rows).map { zip($0, $1.embedding).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
        let worst = cosines.enumerated().sorted { $0.element < $1.element }.prefix(3)
        let minimum = cosines.min() ?? 0, mean = cosines.reduce(0, +) / Double(cosines.count)
        print("\(label): \(rows.count) lines, min cosine \(String(format: "%.9f", minimum)) (1 - \(String(format: "%.1e", 1 - minimum))), mean \(String(format: "%.9f", mean)), max |Δ| \(String(format: "%.2e", maxDifference)), worst lines \(worst.map { "\($0.offset + 1):\(String(format: "%.7f", $0.element))" })")
        #expect(vectors.allSatisfy { $0.count == 384 })
        #expect(minimum >= bar, "min cosine \(minimum) below \(bar)")
    }
}
