/// Text hidden in an encoding inside a prompt (base64, hex, escapes, rot13, invisible tag characters…),
/// decoded so the injection detector can read what the model would read.
public struct DecodedPayload: Sendable, Equatable {
    /// How it was hidden: `base64`, `hex`, `unicode-escape`, `rot13`, `ascii85`, `unicode-tags`,
    /// `zero-width`, `reversed`, `spaced-letters`, `binary`.
    public var encoding: String
    /// The decoded text (at most `InjectionHeuristics.maxPayloadBytes` of UTF-8).
    public var text: String

    public init(encoding: String, text: String) {
        self.encoding = encoding
        self.text = text
    }
}
