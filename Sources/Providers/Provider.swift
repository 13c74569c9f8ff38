import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SwitchyardCore

/// An upstream that serves chat completions (and perhaps embeddings) in its own wire protocol.
/// Adapters translate from and to the canonical types; the gateway never sees a provider's format.
public protocol Provider: Sendable {
    var configuration: ProviderConfiguration { get }

    /// One non-streamed completion. `request.model` is already the upstream model id.
    func complete(_ request: ChatRequest, options: CallOptions) async throws -> ChatResponse

    /// Starts a stream. Returns once the upstream has answered with a success status, so that any
    /// failure before the first byte is thrown here (and can fall back); later failures are thrown
    /// by the sequence.
    func stream(_ request: ChatRequest, options: CallOptions) async throws -> ChatChunkStream

    /// Embeds texts. `request.model` is already the upstream model id.
    func embed(_ request: EmbeddingRequest, options: CallOptions) async throws -> EmbeddingResponse
}

/// An upstream that counts a request's input tokens exactly, with its own tokenizer (Anthropic's
/// `POST /v1/messages/count_tokens`). Others are estimated by the gateway.
public protocol TokenCountingProvider: Provider {
    /// Input tokens of `request` (`request.model` is already the upstream model id).
    func countTokens(_ request: ChatRequest, options: CallOptions) async throws -> Int
}

/// An upstream whose connections can be opened ahead of traffic (`prewarm_connections`): every adapter, each
/// with a harmless GET of its protocol (the model list, or Ollama's version).
public protocol ConnectionPrewarming: Provider {
    /// Opens `configuration.prewarmConnections` connections at once; never throws (a failure is reported).
    func prewarm() async -> PrewarmOutcome
}

/// What prewarming a provider's connections did.
public struct PrewarmOutcome: Sendable, Equatable {
    public var provider: String
    public var requested: Int
    /// Requests answered (any status: the connection was opened all the same).
    public var answered: Int
    /// The first failure, with secrets redacted.
    public var failure: String?
}

/// Per-call settings the gateway passes to an adapter.
public struct CallOptions: Sendable {
    public var logger: Logger
    /// Time allowed for the response head (first byte of a stream); the provider's own
    /// `timeout_ms` applies when this is nil or longer.
    public var timeout: Duration?

    public init(logger: Logger, timeout: Duration? = nil) {
        self.logger = logger
        self.timeout = timeout
    }
}

extension Provider {
    public var name: String { configuration.name }
}

/// Builds the adapter for a provider's protocol.
public enum ProviderFactory {
    public static func make(_ configuration: ProviderConfiguration, clients: UpstreamClients) -> any Provider {
        switch configuration.kind {
        case .openai: return OpenAICompatibleProvider(configuration: configuration, clients: clients)
        case .anthropic: return AnthropicProvider(configuration: configuration, clients: clients)
        case .gemini: return GeminiProvider(configuration: configuration, clients: clients)
        case .ollama: return OllamaProvider(configuration: configuration, clients: clients)
        }
    }
}

/// An upstream that speaks OpenAI's Responses API itself (`responses_api: native`): requests are
/// passed through with only the model name changed, and its stored responses stay upstream too.
public protocol NativeResponsesProvider: Provider {
    /// `POST /responses`, not streamed: the upstream's Response object.
    func createResponse(_ body: JSONValue, options: CallOptions) async throws -> JSONValue
    /// `POST /responses` with `stream: true`: the upstream's event stream, as bytes (once its status
    /// said success).
    func streamResponse(_ body: JSONValue, options: CallOptions) async throws -> UpstreamBytes
}

/// The raw bytes of an upstream answer, chunk by chunk as they arrive.
public struct UpstreamBytes: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let body: HTTPClientResponse.Body
    let provider: ProviderConfiguration
    /// The call's hold on its connection: ended with the body (or when the bytes are dropped).
    var lease: UpstreamLease? = nil

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: HTTPClientResponse.Body.AsyncIterator
        let provider: ProviderConfiguration
        let lease: UpstreamLease?

        public mutating func next() async throws -> ByteBuffer? {
            do {
                guard let buffer = try await inner.next() else {
                    lease?.end()
                    return nil
                }
                return buffer
            } catch {
                lease?.end()
                throw UpstreamErrors.map(error, configuration: provider)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: body.makeAsyncIterator(), provider: provider, lease: lease)
    }
}
