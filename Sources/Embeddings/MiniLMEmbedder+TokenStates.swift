import Foundation

extension MiniLMEmbedder {
    /// Width of each token's hidden state.
    public var hiddenSize: Int { encoderHiddenSize }

    /// The last layer's hidden state of every token of each tokenised input ([CLS] … [SEP] as `tokenize` gives,
    /// at most the model's positions), row-major `count × hiddenSize`, in input order. Runs on the calling thread.
    public func tokenStates(_ sequences: [[Int32]]) -> [[Float]] {
        encodeChunked(sequences) { encoder, chunk in encoder.tokenStates(chunk) }
    }
}
