import CMiniLMKernels
import SwitchyardCore

/// The BERT encoder of all-MiniLM-L6-v2 with mean pooling and L2 normalisation.
///
/// A batch is packed without padding: the token rows of all texts sit one after another, every
/// dense layer runs once over all of them, and attention runs per text and head. Each step is
/// split over `Parallel.workers` slices — by rows for batches, by output columns for short inputs
/// (so each core reads only its half of the weights).
struct BertEncoder: Sendable {
    let configuration: BertConfiguration
    let weights: BertWeights
    /// Fewest token rows for which the dense layers are split by rows rather than by columns.
    var rowSplitThreshold = 64
    /// Use OpenBLAS when it is present (tests turn it off to check the other kernels end to end).
    var useBLAS = true
    /// Use the AVX-512 kernels (packed weights) when the CPU has them.
    var useAVX512 = true
    /// Dense-layer arithmetic; bf16 needs AVX512_BF16 and packed bf16 weights, else f32 is used.
    var precision: EmbeddingPrecision = .float32
    /// Fewest rows in a dense-layer product for which OpenBLAS is used rather than the AVX-512
    /// kernel (OpenBLAS re-packs the weights on every call, which dominates for short inputs).
    var blasMinimumRows = 64

    /// One workspace for one `encode` call.
    // @unchecked Sendable: the workers of one step write disjoint rows/columns of these buffers,
    // and steps are separated by the join at the end of each `Parallel.run`.
    private struct Workspace: @unchecked Sendable {
        let tokens: Int
        let hidden: UnsafeMutablePointer<Float>
        let query: UnsafeMutablePointer<Float>
        let key: UnsafeMutablePointer<Float>
        let value: UnsafeMutablePointer<Float>
        let context: UnsafeMutablePointer<Float>
        let projected: UnsafeMutablePointer<Float>
        let intermediate: UnsafeMutablePointer<Float>
        let scores: UnsafeMutablePointer<Float>
        let scoresPerWorker: Int
        /// Per worker: the bf16 copy of a dense layer's input rows.
        let bfloat16Inputs: UnsafeMutablePointer<UInt16>
        let bfloat16PerWorker: Int
        /// The feed-forward activations as bf16 (written by the GELU step, read by the down projection).
        let intermediateBFloat16: UnsafeMutablePointer<UInt16>

        init(tokens: Int, hiddenSize: Int, intermediateSize: Int, longest: Int, workers: Int, bfloat16: Bool) {
            self.tokens = tokens
            hidden = AlignedMemory.allocate(capacity: tokens * hiddenSize)
            query = AlignedMemory.allocate(capacity: tokens * hiddenSize)
            key = AlignedMemory.allocate(capacity: tokens * hiddenSize)
            value = AlignedMemory.allocate(capacity: tokens * hiddenSize)
            context = AlignedMemory.allocate(capacity: tokens * hiddenSize)
            projected = AlignedMemory.allocate(capacity: tokens * hiddenSize)
            intermediate = AlignedMemory.allocate(capacity: tokens * intermediateSize)
            // The fused attention kernel also keeps Kᵀ and pads rows to 16 floats.
            // Rounded to whole cache lines so each worker's slot starts aligned.
            scoresPerWorker = (max(longest * longest, Int(mlk_attention_scratch(Int32(longest)))) + 15) & ~15
            scores = AlignedMemory.allocate(capacity: scoresPerWorker * workers)
            // Only hidden-size inputs are converted here (Q/K/V, attention output); the down
            // projection reads `intermediateBFloat16`, written by the GELU step.
            bfloat16PerWorker = bfloat16 ? tokens * hiddenSize : 0
            bfloat16Inputs = AlignedMemory.allocate(capacity: max(1, bfloat16PerWorker * workers))
            intermediateBFloat16 = AlignedMemory.allocate(capacity: bfloat16 ? tokens * intermediateSize : 1)
        }

        func deallocate() {
            for p in [hidden, query, key, value, context, projected, intermediate, scores] { AlignedMemory.deallocate(p) }
            AlignedMemory.deallocate(bfloat16Inputs)
            AlignedMemory.deallocate(intermediateBFloat16)
        }
    }

    /// Mean-pooled, L2-normalised embeddings of already tokenised texts ([CLS] … [SEP] each).
    func encode(_ sequences: [[Int32]]) -> [[Float]] {
        run(sequences) { hidden, starts, lengths in
            zip(starts, lengths).map { start, length in pool(hidden + start * configuration.hiddenSize, rows: length) }
        }
    }

    /// Every token's hidden state after each of `layers` layers (1-based; the encoder stops after the largest),
    /// per text concatenated in the order of `layers`: `layers.count × length × hiddenSize` floats, row-major. For heads
    /// that label tokens or pool them their own way, each from the layer that suits it, in one pass.
    func tokenStates(_ sequences: [[Int32]], layers: [Int]) -> [[Float]] {
        let h = configuration.hiddenSize
        let wanted = layers.map { min(configuration.layerCount, max(1, $0)) }
        var captured = [[Float]](repeating: [], count: sequences.count)
        return run(sequences, layers: wanted.max() ?? configuration.layerCount, snapshot: { done, hidden, starts, lengths in
            for _ in wanted.filter({ $0 == done }) {
                for (s, (start, length)) in zip(starts, lengths).enumerated() {
                    captured[s].append(contentsOf: UnsafeBufferPointer(start: hidden + start * h, count: length * h))
                }
            }
        }) { _, _, _ in
            // Snapshots arrive in layer order; put them in the order asked for.
            let order = wanted.enumerated().sorted { ($0.element, $0.offset) < ($1.element, $1.offset) }.map(\.offset)
            guard order != Array(wanted.indices) else { return captured }
            return captured.map { flat in
                let size = flat.count / max(1, wanted.count)
                var reordered = [Float](repeating: 0, count: flat.count)
                for (position, original) in order.enumerated() {
                    reordered.replaceSubrange(original * size..<(original + 1) * size, with: flat[position * size..<(position + 1) * size])
                }
                return reordered
            }
        }
    }

    /// Runs the encoder over the packed texts and hands the final hidden rows to `output` before the workspace
    /// is freed.
    private func run<Result>(
        _ sequences: [[Int32]], layers: Int? = nil,
        snapshot: ((Int, UnsafeMutablePointer<Float>, [Int], [Int]) -> Void)? = nil,
        output: (UnsafeMutablePointer<Float>, [Int], [Int]) -> Result
    ) -> Result {
        let nonEmpty = sequences.map { $0.isEmpty ? [Int32(0)] : $0 }
        let c = configuration
        let h = c.hiddenSize
        var starts: [Int] = []
        var running = 0
        for s in nonEmpty { starts.append(running); running += min(s.count, c.maxPositions) }
        let total = running
        let lengths = nonEmpty.map { min($0.count, c.maxPositions) }
        let longest = lengths.max() ?? 1
        let workers = Parallel.workers
        let ws = Workspace(tokens: total, hiddenSize: h, intermediateSize: c.intermediateSize, longest: longest, workers: workers, bfloat16: usesBFloat16)
        defer { ws.deallocate() }

        embed(nonEmpty, starts: starts, lengths: lengths, into: ws)
        let rowSplit = total >= rowSplitThreshold && workers > 1
        if rowSplit {
            Parallel.run(workers) { w in
                let rows = Parallel.slice(w, of: workers, total: total)
                projectQKV(layer: weights.layers[0], rows: rows, columns: 0..<h, worker: w, ws: ws)
            }
        } else {
            Parallel.run(workers) { w in
                projectQKV(layer: weights.layers[0], rows: 0..<total, columns: Parallel.slice(w, of: workers, total: h, multipleOf: 32), worker: w, ws: ws)
            }
        }
        let layerCount = min(c.layerCount, max(1, layers ?? c.layerCount))
        for index in 0..<layerCount {
            let layer = weights.layers[index]
            let next = index + 1 < layerCount ? weights.layers[index + 1] : nil
            attention(starts: starts, lengths: lengths, ws: ws, workers: workers)
            if rowSplit {
                Parallel.run(workers) { w in
                    let rows = Parallel.slice(w, of: workers, total: total)
                    attentionOutput(layer: layer, rows: rows, columns: 0..<h, worker: w, ws: ws)
                    normalizeAttention(layer: layer, rows: rows, ws: ws)
                    feedForwardUp(layer: layer, rows: rows, columns: 0..<c.intermediateSize, worker: w, ws: ws)
                    feedForwardDown(layer: layer, rows: rows, columns: 0..<h, worker: w, ws: ws)
                    normalizeOutput(layer: layer, rows: rows, ws: ws)
                    if let next { projectQKV(layer: next, rows: rows, columns: 0..<h, worker: w, ws: ws) }
                }
            } else {
                let all = 0..<total
                Parallel.run(workers) { w in
                    attentionOutput(layer: layer, rows: all, columns: Parallel.slice(w, of: workers, total: h, multipleOf: 32), worker: w, ws: ws)
                }
                normalizeAttention(layer: layer, rows: all, ws: ws)
                Parallel.run(workers) { w in
                    feedForwardUp(layer: layer, rows: all, columns: Parallel.slice(w, of: workers, total: c.intermediateSize, multipleOf: 32), worker: w, ws: ws)
                }
                Parallel.run(workers) { w in
                    feedForwardDown(layer: layer, rows: all, columns: Parallel.slice(w, of: workers, total: h, multipleOf: 32), worker: w, ws: ws)
                }
                normalizeOutput(layer: layer, rows: all, ws: ws)
                if let next {
                    Parallel.run(workers) { w in
                        projectQKV(layer: next, rows: all, columns: Parallel.slice(w, of: workers, total: h, multipleOf: 32), worker: w, ws: ws)
                    }
                }
            }
            // The next layer's Q/K/V are already projected, but `hidden` still holds this layer's output.
            snapshot?(index + 1, ws.hidden, starts, lengths)
        }
        return output(ws.hidden, starts, lengths)
    }

    /// hidden = LayerNorm(word + position + token type 0).
    private func embed(_ sequences: [[Int32]], starts: [Int], lengths: [Int], into ws: Workspace) {
        let c = configuration
        let h = c.hiddenSize
        for (s, ids) in sequences.enumerated() {
            for p in 0..<lengths[s] {
                var id = Int(ids[p])
                if id < 0 || id >= c.vocabularySize { id = 100 } // [UNK] for ids outside the vocabulary
                let row = ws.hidden + (starts[s] + p) * h
                row.update(from: weights.wordEmbeddings.pointer + id * h, count: h)
                layerNorm(
                    input: row, bias: weights.positionEmbeddings.pointer + p * h,
                    residual: weights.tokenTypeEmbeddings.pointer,
                    gamma: weights.embeddingNormGamma, beta: weights.embeddingNormBeta, output: row)
            }
        }
    }

    var usesBFloat16: Bool {
        precision == .bfloat16 && useAVX512 && CPUFeatures.current.avx512BF16
    }

    /// Whether the row operations (LayerNorm, GELU, softmax) run as AVX-512 kernels.
    private var usesAVX512Rows: Bool { useAVX512 && CPUFeatures.current.avx512 }

    /// output = LayerNorm(input + bias + residual) · gamma + beta over one hidden-size row.
    @inline(__always)
    private func layerNorm(
        input: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, residual: UnsafePointer<Float>,
        gamma: FloatTensor, beta: FloatTensor, output: UnsafeMutablePointer<Float>
    ) {
        let h = configuration.hiddenSize
        if usesAVX512Rows && h % 16 == 0 {
            mlk_layer_norm(Int32(h), input, bias, residual, gamma.pointer, beta.pointer, configuration.layerNormEpsilon, output)
        } else {
            VectorMath.addBiasResidualLayerNorm(
                input: input, bias: bias, residual: residual, gamma: gamma.pointer, beta: beta.pointer,
                epsilon: configuration.layerNormEpsilon, output: output, count: h)
        }
    }

    /// A dense layer on a block: out[rows, columns] = in[rows] · W[columns]ᵀ, with the kernel
    /// that suits the block's size and the requested precision. `worker` owns scratch slot.
    /// `inputBFloat16`, when given, is the bf16 copy of exactly `input`'s rows `rows` (stride
    /// `inputWidth`); otherwise the bf16 kernel converts them into the worker's scratch.
    @inline(__always)
    private func dense(
        _ weight: PackedWeight, input: UnsafeMutablePointer<Float>, inputWidth: Int,
        output: UnsafeMutablePointer<Float>, outputWidth: Int, rows: Range<Int>, columns: Range<Int>,
        totalRows: Int, worker: Int, ws: Workspace, inputBFloat16: UnsafePointer<UInt16>? = nil
    ) {
        if rows.isEmpty || columns.isEmpty { return }
        let avx512 = useAVX512 && CPUFeatures.current.avx512
        let blas = useBLAS && BLAS.shared != nil
        // bf16 at every size: vdpbf16ps does twice the multiply-adds per cycle of an f32 FMA
        // (measured on Zen 4: 231 vs 115 GFLOP/s on one core), and the kernel reaches about twice
        // OpenBLAS's f32 rate on the batch shapes too (190 vs 94 GFLOP/s, one thread, 1760×1536×384).
        if usesBFloat16, let panels = weight.bfloat16Panels {
            var source = inputBFloat16
            if source == nil {
                let converted = ws.bfloat16Inputs + worker * ws.bfloat16PerWorker
                mlk_convert_bf16(Int32(rows.count), Int32(inputWidth), input + rows.lowerBound * inputWidth, inputWidth, converted)
                source = UnsafePointer(converted)
            }
            mlk_gemm_bf16(Int32(rows.count), Int32(columns.lowerBound), Int32(columns.upperBound), Int32(inputWidth),
                          source, inputWidth, panels, output + rows.lowerBound * outputWidth, outputWidth)
            return
        }
        if avx512, let panels = weight.float32Panels, !blas || totalRows < blasMinimumRows {
            mlk_gemm_f32(Int32(rows.count), Int32(columns.lowerBound), Int32(columns.upperBound), Int32(inputWidth),
                         input + rows.lowerBound * inputWidth, inputWidth, panels, output + rows.lowerBound * outputWidth, outputWidth)
            return
        }
        MatrixMultiply.multiplyTransposed(
            m: rows.count, n: columns.count, k: inputWidth,
            a: input + rows.lowerBound * inputWidth, lda: inputWidth,
            b: weight.pointer + columns.lowerBound * inputWidth, ldb: inputWidth,
            c: output + rows.lowerBound * outputWidth + columns.lowerBound, ldc: outputWidth,
            useBLAS: useBLAS)
    }

    @inline(__always)
    private func addBias(_ bias: FloatTensor, to matrix: UnsafeMutablePointer<Float>, width: Int, rows: Range<Int>, columns: Range<Int>) {
        for r in rows {
            VectorMath.addBias(matrix + r * width + columns.lowerBound, bias.pointer + columns.lowerBound, count: columns.count)
        }
    }

    private func projectQKV(layer: BertWeights.Layer, rows: Range<Int>, columns: Range<Int>, worker: Int, ws: Workspace) {
        let h = configuration.hiddenSize
        // The three projections share one input: convert it to bf16 once, not three times.
        var converted: UnsafePointer<UInt16>?
        if usesBFloat16, !rows.isEmpty {
            let scratch = ws.bfloat16Inputs + worker * ws.bfloat16PerWorker
            mlk_convert_bf16(Int32(rows.count), Int32(h), ws.hidden + rows.lowerBound * h, h, scratch)
            converted = UnsafePointer(scratch)
        }
        for (weight, bias, out) in [(layer.query, layer.queryBias, ws.query), (layer.key, layer.keyBias, ws.key), (layer.value, layer.valueBias, ws.value)] {
            dense(weight, input: ws.hidden, inputWidth: h, output: out, outputWidth: h, rows: rows, columns: columns, totalRows: ws.tokens, worker: worker, ws: ws, inputBFloat16: converted)
            addBias(bias, to: out, width: h, rows: rows, columns: columns)
        }
    }

    /// Scaled dot-product attention for every (text, head) pair, shared out over the workers.
    private func attention(starts: [Int], lengths: [Int], ws: Workspace, workers: Int) {
        let c = configuration
        let h = c.hiddenSize, d = c.headSize, heads = c.headCount
        let scale = 1 / Float(d).squareRoot()
        // Order the (text, head) items by cost so the two workers end up with similar totals.
        let items = (0..<(lengths.count * heads)).sorted { lengths[$0 / heads] > lengths[$1 / heads] }
        Parallel.run(min(workers, items.count)) { w in
            let scores = ws.scores + w * ws.scoresPerWorker
            var index = w
            let stride = min(workers, items.count)
            while index < items.count {
                let item = items[index]
                let s = item / heads, head = item % heads
                let length = lengths[s]
                let base = starts[s] * h + head * d
                if usesAVX512Rows && d == 32 {
                    mlk_attention_head(Int32(length), ws.query + base, ws.key + base, ws.value + base, h, scale, scores, ws.context + base)
                    index += stride
                    continue
                }
                MatrixMultiply.multiplyTransposed(
                    m: length, n: length, k: d, alpha: scale,
                    a: ws.query + base, lda: h, b: ws.key + base, ldb: h,
                    c: scores, ldc: length, useBLAS: useBLAS)
                for r in 0..<length { VectorMath.softmax(scores + r * length, count: length) }
                MatrixMultiply.multiply(
                    m: length, n: d, k: length,
                    a: scores, lda: length, b: ws.value + base, ldb: h,
                    c: ws.context + base, ldc: h, useBLAS: useBLAS)
                index += stride
            }
        }
    }

    private func attentionOutput(layer: BertWeights.Layer, rows: Range<Int>, columns: Range<Int>, worker: Int, ws: Workspace) {
        let h = configuration.hiddenSize
        dense(layer.attentionOutput, input: ws.context, inputWidth: h, output: ws.projected, outputWidth: h, rows: rows, columns: columns, totalRows: ws.tokens, worker: worker, ws: ws)
    }

    private func normalizeAttention(layer: BertWeights.Layer, rows: Range<Int>, ws: Workspace) {
        let h = configuration.hiddenSize
        for r in rows {
            layerNorm(
                input: ws.projected + r * h, bias: layer.attentionOutputBias.pointer, residual: ws.hidden + r * h,
                gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, output: ws.hidden + r * h)
        }
    }

    private func feedForwardUp(layer: BertWeights.Layer, rows: Range<Int>, columns: Range<Int>, worker: Int, ws: Workspace) {
        let h = configuration.hiddenSize, i = configuration.intermediateSize
        dense(layer.intermediate, input: ws.hidden, inputWidth: h, output: ws.intermediate, outputWidth: i, rows: rows, columns: columns, totalRows: ws.tokens, worker: worker, ws: ws)
        if rows.isEmpty || columns.isEmpty { return }
        let offset = rows.lowerBound * i + columns.lowerBound
        let bias = layer.intermediateBias.pointer + columns.lowerBound
        if usesBFloat16 {
            // Only the down projection reads the activations: write them as its bf16 input.
            mlk_bias_gelu_bf16(Int32(rows.count), Int32(columns.count), ws.intermediate + offset, i, bias, ws.intermediateBFloat16 + offset, i)
        } else if usesAVX512Rows {
            mlk_bias_gelu_f32(Int32(rows.count), Int32(columns.count), ws.intermediate + offset, i, bias)
        } else {
            for r in rows {
                VectorMath.addBiasGELU(ws.intermediate + r * i + columns.lowerBound, bias, count: columns.count)
            }
        }
    }

    private func feedForwardDown(layer: BertWeights.Layer, rows: Range<Int>, columns: Range<Int>, worker: Int, ws: Workspace) {
        let h = configuration.hiddenSize, i = configuration.intermediateSize
        dense(layer.output, input: ws.intermediate, inputWidth: i, output: ws.projected, outputWidth: h, rows: rows, columns: columns, totalRows: ws.tokens, worker: worker, ws: ws,
              inputBFloat16: usesBFloat16 ? UnsafePointer(ws.intermediateBFloat16 + rows.lowerBound * i) : nil)
    }

    private func normalizeOutput(layer: BertWeights.Layer, rows: Range<Int>, ws: Workspace) {
        let h = configuration.hiddenSize
        for r in rows {
            layerNorm(
                input: ws.projected + r * h, bias: layer.outputBias.pointer, residual: ws.hidden + r * h,
                gamma: layer.outputNormGamma, beta: layer.outputNormBeta, output: ws.hidden + r * h)
        }
    }

    /// Mean over the text's rows (all real tokens: there is no padding), then L2 normalisation.
    private func pool(_ rows: UnsafeMutablePointer<Float>, rows count: Int) -> [Float] {
        let h = configuration.hiddenSize
        var sum = [Double](repeating: 0, count: h)
        for r in 0..<count {
            let row = rows + r * h
            for j in 0..<h { sum[j] += Double(row[j]) }
        }
        var norm = 0.0
        for j in 0..<h { sum[j] /= Double(count); norm += sum[j] * sum[j] }
        let inverse = 1 / max(norm.squareRoot(), 1e-12)
        return sum.map { Float($0 * inverse) }
    }
}
