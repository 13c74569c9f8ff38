import Foundation

extension MiniLMEmbedder {
    /// Width of each token's hidden state.
    public var hiddenSize: Int { encoderHiddenSize }

    /// The hidden state of every token of each tokenised input ([CLS] … [SEP] as `tokenize` gives, at most the
    /// model's positions) after each of `layers` layers (1-based), in one pass that stops after the largest: per
    /// input, `layers.count × count × hiddenSize` floats, row-major, in the order of `layers`. Runs on the calling thread.
    public func tokenStates(_ sequences: [[Int32]], layers: [Int]) -> [[Float]] {
        encodeChunked(sequences) { encoder, chunk in encoder.tokenStates(chunk, layers: layers) }
    }

    /// Number of encoder layers.
    public var layerCount: Int { encoderLayerCount }
}
