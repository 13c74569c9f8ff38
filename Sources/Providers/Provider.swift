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

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: HTTPClientResponse.Body.AsyncIterator
        let provider: ProviderConfiguration

        public mutating func next() async throws -> ByteBuffer? {
            do {
                return try await inner.next()
            } catch {
                throw UpstreamErrors.map(error, configuration: provider)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: body.makeAsyncIterator(), provider: provider) }
}
