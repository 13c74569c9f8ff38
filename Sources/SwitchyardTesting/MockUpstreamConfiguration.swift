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

    public init(
        host: String = "127.0.0.1", port: Int = 0, openAIKey: String? = nil, anthropicKey: String? = nil,
        geminiKey: String? = nil, defaultChunkDelayMs: Int = 0
    ) {
        self.host = host
        self.port = port
        self.openAIKey = openAIKey
        self.anthropicKey = anthropicKey
        self.geminiKey = geminiKey
        self.defaultChunkDelayMs = defaultChunkDelayMs
    }
}
