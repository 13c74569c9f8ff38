import AsyncHTTPClient
import NIOCore
import SwitchyardCore

/// Turns framed upstream messages into canonical chunks; one implementation per protocol.
public protocol ChunkDecoder: Sendable {
    mutating func decode(_ message: StreamMessage) throws -> [ChatChunk]
    /// Called when the body ends. Throws when the stream ended before its terminal message, which
    /// is how a dropped connection mid-stream shows up.
    mutating func finish() throws -> [ChatChunk]
}

/// The canonical chunks of one upstream stream, parsed as the bytes arrive (nothing is buffered
/// beyond the current line).
public struct ChatChunkStream: AsyncSequence, Sendable {
    public typealias Element = ChatChunk

    enum Source: Sendable {
        case upstream(HTTPClientResponse.Body, StreamFramer.Format, any ChunkDecoder, provider: String, lease: UpstreamLease?)
        case chunks([ChatChunk])
    }

    let source: Source

    /// - Parameter lease: the call's hold on its connection, ended when the body ends or fails (or when the
    ///   stream and its iterator are dropped).
    init(
        body: HTTPClientResponse.Body, format: StreamFramer.Format, decoder: any ChunkDecoder, provider: String,
        lease: UpstreamLease? = nil
    ) {
        source = .upstream(body, format, decoder, provider: provider, lease: lease)
    }

    /// A stream that replays chunks already in memory (cache hits, tests).
    public init(chunks: [ChatChunk]) {
        source = .chunks(chunks)
    }

    public func makeAsyncIterator() -> Iterator {
        switch source {
        case .upstream(let body, let format, let decoder, let provider, let lease):
            return Iterator(
                body: body.makeAsyncIterator(), framer: StreamFramer(format: format), decoder: decoder,
                provider: provider, lease: lease)
        case .chunks(let chunks):
            return Iterator(replay: chunks)
        }
    }

    public struct Iterator: AsyncIteratorProtocol {
        private var body: HTTPClientResponse.Body.AsyncIterator?
        private var framer: StreamFramer
        private var decoder: (any ChunkDecoder)?
        private let provider: String
        private var pending: [ChatChunk] = []
        private var pendingIndex = 0
        private var done = false {
            didSet { if done { lease?.end() } }
        }
        private let lease: UpstreamLease?

        init(
            body: HTTPClientResponse.Body.AsyncIterator, framer: StreamFramer, decoder: any ChunkDecoder, provider: String,
            lease: UpstreamLease?
        ) {
            self.body = body
            self.lease = lease
            self.framer = framer
            self.decoder = decoder
            self.provider = provider
        }

        init(replay: [ChatChunk]) {
            self.framer = StreamFramer(format: .serverSentEvents)
            self.provider = ""
            self.lease = nil
            self.pending = replay
            self.done = true
        }

        public mutating func next() async throws -> ChatChunk? {
            while pendingIndex >= pending.count {
                if done { return nil }
                pending.removeAll(keepingCapacity: true)
                pendingIndex = 0
                let buffer: ByteBuffer?
                do {
                    buffer = try await body?.next()
                } catch {
                    done = true
                    throw UpstreamErrors.map(error, provider: provider)
                }
                guard var decoder else { return nil }
                do {
                    if let buffer {
                        for message in try framer.feed(buffer) { pending += try decoder.decode(message) }
                    } else {
                        done = true
                        for message in try framer.finish() { pending += try decoder.decode(message) }
                        pending += try decoder.finish()
                    }
                } catch let error as EventTooLargeError {
                    done = true
                    throw SwitchyardError.streamEventTooLarge(provider: provider, limit: error.limit)
                } catch {
                    done = true
                    throw error
                }
                self.decoder = decoder
            }
            defer { pendingIndex += 1 }
            return pending[pendingIndex]
        }
    }
}
