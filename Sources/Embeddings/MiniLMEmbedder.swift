import CMiniLMKernels
import Foundation
import Synchronization
import SwitchyardCore

/// sentence-transformers' all-MiniLM-L6-v2, run natively: WordPiece, a 6-layer BERT encoder,
/// mean pooling and L2 normalisation; 384-dimensional unit vectors.
///
/// Weights are memory-mapped from `model.safetensors` and used in place. One call uses all cores,
/// so calls are serialised rather than run side by side.
public final class MiniLMEmbedder: TextEmbedder {
    public let modelName = ModelCatalog.miniLM.publicName
    public var dimensions: Int { encoder.configuration.hiddenSize }

    /// The tokenizer the model is fed with (exposed for tests and token counting).
    public let tokenizer: WordPieceTokenizer
    /// Texts per forward pass in `embedSync`; longer lists are processed in chunks of this size.
    public let batchSize: Int

    private let encoder: BertEncoder
    private let file: SafeTensorsFile
    private let lock = Mutex(())
    /// The same model at the other precision, made once on first request (shares file and vocabulary).
    private let siblings = Mutex<[EmbeddingPrecision: MiniLMEmbedder]>([:])

    init(file: SafeTensorsFile, encoder: BertEncoder, tokenizer: WordPieceTokenizer, batchSize: Int) {
        self.file = file
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.batchSize = batchSize
    }

    /// Loads the model from a folder holding `model.safetensors`, `vocab.txt` and `config.json`.
    ///
    /// - Parameters:
    ///   - batchSize: texts per forward pass.
    ///   - precision: `.float32` (default, matches the reference) or `.bfloat16` (faster on CPUs
    ///     with AVX512_BF16, slightly less exact; float32 elsewhere).
    public static func load(from directory: URL, batchSize: Int = 32, precision: EmbeddingPrecision = .float32) throws -> MiniLMEmbedder {
        let store = ModelStore(directory: directory)
        try store.checkPresent(ModelCatalog.miniLM)
        let configuration = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        let maxLength = min(ModelCatalog.miniLM.maxSequenceLength, configuration.maxPositions)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"), maxLength: maxLength)
        let file = try SafeTensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        return MiniLMEmbedder(
            file: file, encoder: try encoder(file: file, configuration: configuration, precision: precision),
            tokenizer: tokenizer, batchSize: max(1, batchSize))
    }

    /// An encoder over `file` with only the packed weight copies `precision` uses (the bf16 path
    /// never reads the f32 panels, 42 MB, so they are not made for it).
    private static func encoder(file: SafeTensorsFile, configuration: BertConfiguration, precision: EmbeddingPrecision) throws -> BertEncoder {
        let cpu = CPUFeatures.current
        let bfloat16 = precision == .bfloat16 && cpu.avx512BF16
        let weights = try BertWeights(
            file: file, configuration: configuration, packFloat32: cpu.avx512 && !bfloat16, packBFloat16: bfloat16)
        var encoder = BertEncoder(configuration: configuration, weights: weights)
        encoder.precision = precision
        return encoder
    }

    /// The same model at `precision`: this embedder itself when it already runs at it, else one
    /// made once (on first request) over the same memory-mapped file and vocabulary.
    public func withPrecision(_ precision: EmbeddingPrecision) throws -> MiniLMEmbedder {
        if precision == self.encoder.precision { return self }
        return try siblings.withLock { made in
            if let existing = made[precision] { return existing }
            let sibling = MiniLMEmbedder(
                file: file, encoder: try Self.encoder(file: file, configuration: encoder.configuration, precision: precision),
                tokenizer: tokenizer, batchSize: batchSize)
            made[precision] = sibling
            return sibling
        }
    }

    /// Loads the model from `SWITCHYARD_MODEL_DIR` or the default cache folder; the error names
    /// the command that downloads it.
    public static func loadDefault(precision: EmbeddingPrecision = .float32) throws -> MiniLMEmbedder {
        try load(from: ModelStore.defaultDirectory(for: ModelCatalog.miniLM), precision: precision)
    }

    /// The precision the dense layers actually run at (bf16 falls back to f32 without AVX512_BF16).
    public var precision: EmbeddingPrecision { encoder.usesBFloat16 ? .bfloat16 : .float32 }

    /// Which kernels run the model, e.g. "dense: avx512-bf16; attention and row ops: avx512".
    public var computeBackend: String {
        let blas = encoder.useBLAS ? BLAS.shared : nil
        let avx512 = CPUFeatures.current.avx512 && encoder.useAVX512
        let dense: String
        if encoder.usesBFloat16 {
            dense = "avx512-bf16"
        } else if avx512, let blas {
            dense = "avx512-f32 (< \(encoder.blasMinimumRows) rows) + openblas (\(blas.description))"
        } else if avx512 {
            dense = "avx512-f32"
        } else if let blas {
            dense = "openblas (\(blas.description))"
        } else {
            dense = "swift-simd"
        }
        let rows = avx512 ? "avx512" : blas != nil ? "openblas + swift-simd" : "swift-simd"
        return "dense: \(dense); attention and row ops: \(rows)"
    }

    /// The ids fed to the model for `text`: [CLS], word-pieces, [SEP]; at most 256.
    public func tokenize(_ text: String) -> [Int32] {
        tokenizer.encode(text)
    }

    /// Embeds texts on the calling thread (using all cores); vectors in input order.
    public func embedSync(_ texts: [String]) -> [[Float]] {
        embedTokenized(texts.map(tokenizer.encode))
    }

    /// Embeds already tokenised inputs ([CLS] … [SEP] each, as `tokenize` returns them).
    public func embedTokenized(_ sequences: [[Int32]]) -> [[Float]] {
        encodeChunked(sequences) { encoder, chunk in encoder.encode(chunk) }
    }

    var encoderHiddenSize: Int { encoder.configuration.hiddenSize }
    var encoderLayerCount: Int { encoder.configuration.layerCount }

    /// Runs `pass` over chunks of the inputs (one forward pass each) under the model's lock; outputs in input order.
    func encodeChunked(_ sequences: [[Int32]], pass: (BertEncoder, [[Int32]]) -> [[Float]]) -> [[Float]] {
        if sequences.isEmpty { return [] }
        // Sorting by length keeps each chunk's texts alike, so attention work is balanced.
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        var result = [[Float]](repeating: [], count: sequences.count)
        lock.withLock { _ in
            var start = 0
            var largestPass = 0
            while start < order.count {
                // At most `batchSize` texts and `maxTokensPerPass` tokens per forward pass (one text
                // may exceed it alone): the workspace grows with the tokens of a pass.
                var end = start + 1
                var tokens = sequences[order[start]].count
                while end < order.count, end - start < batchSize, tokens + sequences[order[end]].count <= Self.maxTokensPerPass {
                    tokens += sequences[order[end]].count
                    end += 1
                }
                let chunk = Array(order[start..<end])
                largestPass = max(largestPass, tokens)
                let outputs = pass(encoder, chunk.map { sequences[$0] })
                for (index, output) in zip(chunk, outputs) { result[index] = output }
                start = end
            }
            // A large pass's workspace (tens of MB) would otherwise stay in malloc's free lists; a
            // small one's is reused by the next call, and the trim (a walk of the heap) is not free.
            if largestPass >= Self.trimAfterTokens { Self.releaseFreedMemory() }
        }
        return result
    }

    /// Tokens per forward pass: ~40 MB of workspace at most, and still hundreds of rows per
    /// worker, which is all the matrix kernels need to run at full speed.
    static let maxTokensPerPass = 2048

    /// Passes of at least this many tokens (~10 MB of workspace) hand freed memory back afterwards.
    static let trimAfterTokens = 512

    private static func releaseFreedMemory() {
        mlk_release_freed_memory()
    }

    /// Embeds texts; `promptTokens` counts every id fed to the model, [CLS] and [SEP] included.
    ///
    /// The work runs on the embeddings queue, one chunk of `batchSize` texts per queue item, and the
    /// caller awaits it: the caller's thread — under `serve`, an event loop with connections on it —
    /// is never held by the computation or by another caller's, and a long batch lets other callers'
    /// chunks in between its own. Costs a thread hop (tens of µs) against milliseconds of work.
    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var tokens = 0
        var start = 0
        while start < texts.count {
            let chunk = Array(texts[start..<min(texts.count, start + batchSize)])
            let (chunkVectors, chunkTokens) = await withCheckedContinuation { continuation in
                Self.queue.async {
                    let sequences = chunk.map(self.tokenizer.encode)
                    continuation.resume(returning: (self.embedTokenized(sequences), sequences.reduce(0) { $0 + $1.count }))
                }
            }
            vectors += chunkVectors
            tokens += chunkTokens
            start += batchSize
        }
        return EmbeddingBatch(vectors: vectors, promptTokens: tokens)
    }

    /// Where `embed` runs: one serial queue, since one call already uses every core.
    private static let queue = DispatchQueue(label: "switchyard.embeddings", qos: .userInitiated)
}

extension MiniLMEmbedder {
    /// Test and benchmark hook: the same weights with some kernels turned off.
    package func withKernels(blas: Bool = true, avx512: Bool = true, blasMinimumRows: Int? = nil) -> MiniLMEmbedder {
        var encoder = self.encoder
        encoder.useBLAS = blas
        encoder.useAVX512 = avx512
        if let blasMinimumRows { encoder.blasMinimumRows = blasMinimumRows }
        return MiniLMEmbedder(file: file, encoder: encoder, tokenizer: tokenizer, batchSize: batchSize)
    }
}
