import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A plain HTTP/1.1 upstream that counts the connections it accepts and the requests it holds at once. Every
/// request is answered after `delay`: a `GET` with an empty model list, a `POST` with an OpenAI chat completion.
final class ConnectionCountingUpstream: Sendable {
    struct Counts: Sendable {
        var accepted = 0
        var inFlight = 0
        var peakInFlight = 0
        /// `METHOD path` of every request, in order of arrival.
        var requests: [String] = []
    }

    let counts = Mutex(Counts())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    let delay: TimeAmount

    private init(delay: TimeAmount) { self.delay = delay }

    var port: Int { channel.withLock { $0?.localAddress?.port } ?? 0 }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func start(delay: TimeAmount) async throws -> ConnectionCountingUpstream {
        let upstream = ConnectionCountingUpstream(delay: delay)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                upstream.counts.withLock { $0.accepted += 1 }
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(upstream: upstream))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        upstream.channel.withLock { $0 = channel }
        return upstream
    }

    func stop() async {
        let channel = channel.withLock { $0 }
        try? await channel?.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: NIO calls a handler on its channel's event loop only, and the delayed answer is scheduled there.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let upstream: ConnectionCountingUpstream
        var method = HTTPMethod.GET

        init(upstream: ConnectionCountingUpstream) { self.upstream = upstream }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                method = head.method
                upstream.counts.withLock { counts in
                    counts.requests.append("\(head.method.rawValue) \(head.uri)")
                    counts.inFlight += 1
                    counts.peakInFlight = max(counts.peakInFlight, counts.inFlight)
                }
            case .body:
                break
            case .end:
                let body = method == .GET
                    ? #"{"object": "list", "data": []}"#
                    : #"{"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}"#
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: upstream.delay) {
                    let (handler, context) = loopBound.value
                    handler.upstream.counts.withLock { $0.inFlight -= 1 }
                    var headers = HTTPHeaders()
                    headers.add(name: "content-type", value: "application/json")
                    headers.add(name: "content-length", value: String(body.utf8.count))
                    context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
