import ArgumentParser
import Foundation
import Logging
import SwitchyardTesting

/// `switchyard mock`: fake upstreams speaking OpenAI, Anthropic, Gemini and Ollama, for trying and testing.
struct MockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock",
        abstract: "Run the mock upstream (OpenAI, Anthropic, Gemini and Ollama protocols on one port).",
        discussion: """
            Answers are scripted by directives in the last user message: [[reply: TEXT]], [[tool: NAME {json}]], \
            [[json]], [[error: 429 retry-after=2]], [[delay: MS]], [[chunk-delay: MS]], [[disconnect-after: N]], \
            [[malformed]], [[hang]], [[usage: none]], [[cached: N]], [[stop: length]]. \
            GET /_mock/requests shows what it received; POST /_mock/faults {"model","fault","count"} scripts a model.
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port (0 picks a free one).")
    var port = 4010

    @Option(help: "Pause between stream chunks, in milliseconds.")
    var chunkDelayMs = 0

    @Option(help: "Require this OpenAI key (Authorization: Bearer).")
    var openaiKey: String?

    @Option(help: "Require this Anthropic key (x-api-key).")
    var anthropicKey: String?

    @Option(help: "Require this Gemini key (x-goog-api-key or ?key=).")
    var geminiKey: String?

    @Flag(help: "Load benchmarks: render each distinct streamed answer once and replay its bytes (same ids), so the mock's JSON encoding is not what is measured.")
    var replayStreams = false

    func run() async throws {
        var logger = Logger(label: "switchyard.mock")
        logger.logLevel = .warning
        let configuration = MockUpstreamConfiguration(
            host: host, port: port, openAIKey: openaiKey, anthropicKey: anthropicKey, geminiKey: geminiKey,
            defaultChunkDelayMs: chunkDelayMs, replayStreams: replayStreams)
        let host = self.host
        try await runMockUpstream(configuration: configuration, logger: logger) { bound in
            print("switchyard mock listening on http://\(host):\(bound) (openai: /v1, anthropic: /v1/messages, gemini: /v1beta, ollama: /api)")
            fflush(nil)
        }
    }
}
