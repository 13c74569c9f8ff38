/// Pointers to the encoder's weights inside the mapped safetensors file (no copies).
struct BertWeights: Sendable {
    struct Layer: Sendable {
        var query: PackedWeight, queryBias: FloatTensor
        var key: PackedWeight, keyBias: FloatTensor
        var value: PackedWeight, valueBias: FloatTensor
        var attentionOutput: PackedWeight, attentionOutputBias: FloatTensor
        var attentionNormGamma: FloatTensor, attentionNormBeta: FloatTensor
        var intermediate: PackedWeight, intermediateBias: FloatTensor
        var output: PackedWeight, outputBias: FloatTensor
        var outputNormGamma: FloatTensor, outputNormBeta: FloatTensor
    }

    var wordEmbeddings: FloatTensor
    var positionEmbeddings: FloatTensor
    var tokenTypeEmbeddings: FloatTensor
    var embeddingNormGamma: FloatTensor
    var embeddingNormBeta: FloatTensor
    var layers: [Layer]

    /// - Parameters:
    ///   - packFloat32: keep f32 copies of the dense weights packed for the AVX-512 kernel.
    ///   - packBFloat16: keep bf16 copies packed for the reduced-precision kernel.
    init(file: SafeTensorsFile, configuration c: BertConfiguration, packFloat32: Bool, packBFloat16: Bool) throws {
        // Checkpoints saved from BertForX carry a "bert." prefix; sentence-transformers' do not.
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func tensor(_ name: String, _ shape: [Int]) throws -> FloatTensor {
            try file.float32(prefix + name, shape: shape)
        }
        let h = c.hiddenSize, i = c.intermediateSize
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [c.vocabularySize, h])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [c.maxPositions, h])
        tokenTypeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, h])
        embeddingNormGamma = try tensor("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try tensor("embeddings.LayerNorm.bias", [h])
        layers = try (0..<c.layerCount).map { index in
            let p = "encoder.layer.\(index)."
            func dense(_ name: String, _ shape: [Int]) throws -> PackedWeight {
                PackedWeight(try tensor(name, shape), packFloat32: packFloat32, packBFloat16: packBFloat16)
            }
            return Layer(
                query: try dense(p + "attention.self.query.weight", [h, h]),
                queryBias: try tensor(p + "attention.self.query.bias", [h]),
                key: try dense(p + "attention.self.key.weight", [h, h]),
                keyBias: try tensor(p + "attention.self.key.bias", [h]),
                value: try dense(p + "attention.self.value.weight", [h, h]),
                valueBias: try tensor(p + "attention.self.value.bias", [h]),
                attentionOutput: try dense(p + "attention.output.dense.weight", [h, h]),
                attentionOutputBias: try tensor(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: try tensor(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: try tensor(p + "attention.output.LayerNorm.bias", [h]),
                intermediate: try dense(p + "intermediate.dense.weight", [i, h]),
                intermediateBias: try tensor(p + "intermediate.dense.bias", [i]),
                output: try dense(p + "output.dense.weight", [h, i]),
                outputBias: try tensor(p + "output.dense.bias", [h]),
                outputNormGamma: try tensor(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: try tensor(p + "output.LayerNorm.bias", [h])
            )
        }
    }
}
