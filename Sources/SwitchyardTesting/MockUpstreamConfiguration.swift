import Foundation

/// Settings of the mock upstream.
public struct MockUpstreamConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Keys the mock requires, per protocol (nil: any or none accepted).
    public var openAIKey: String?
    public var anthropicKey: String?
    public var geminiKey: String?
    /// Pause between stream chunks unless a request says otherwise.
    public var defaultChunkDelayMs: Int
    /// Load benchmarks only: each distinct streamed answer is rendered once and its bytes replayed for later
    /// requests (ids and `created` included). Rendering a stream's chunks with `JSONSerialization`'s sorted keys
    /// was over half the mock's CPU at a thousand streams, so the mock, not the gateway, set the figures.
    public var replayStreams: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 0, openAIKey: String? = nil, anthropicKey: String? = nil,
        geminiKey: String? = nil, defaultChunkDelayMs: Int = 0, replayStreams: Bool = false
    ) {
        self.host = host
        self.port = port
        self.openAIKey = openAIKey
        self.anthropicKey = anthropicKey
        self.geminiKey = geminiKey
        self.defaultChunkDelayMs = defaultChunkDelayMs
        self.replayStreams = replayStreams
    }
}
