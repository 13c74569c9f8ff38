/// Arithmetic used by the dense layers.
public enum EmbeddingPrecision: String, Sendable, CaseIterable {
    /// IEEE float32 throughout: matches the reference library (cosine ≥ 0.99999). The default.
    case float32
    /// bfloat16 weights and activations in the dense layers with float32 accumulation
    /// (AVX512_BF16), min cosine 0.99995 against the reference. Used for short inputs (queries),
    /// which stream the weights and gain from half the bytes; batches still run in float32 through
    /// OpenBLAS when it is installed (faster there). float32 where the CPU lacks AVX512_BF16.
    case bfloat16
}
