import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A plain HTTP/1.1 upstream that answers every `POST` with one scripted event stream, written in the
/// given pieces (each a separate write and flush, `gap` apart), so a test decides exactly where the
/// gateway's reads split the bytes and what a broken or hostile provider sends.
final class ScriptedStreamUpstream: Sendable {
    struct Script: Sendable {
        var status = 200
        var contentType = "text/event-stream"
        var pieces: [[UInt8]]
        var gap: TimeAmount = .zero
        /// Close the connection after the last piece instead of ending the body.
        var cutAtEnd = false
        /// Neither end the body nor close after the last piece: the stream just stops.
        var hangAtEnd = false
    }

    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let script: Mutex<Script>
    let requests = Mutex(0)

    private init(_ script: Script) { self.script = Mutex(script) }

    var baseURL: String { "http://127.0.0.1:\(channel.withLock { $0?.localAddress?.port } ?? 0)" }

    func set(_ new: Script) { script.withLock { $0 = new } }

    static func start(_ script: Script) async throws -> ScriptedStreamUpstream {
        let upstream = ScriptedStreamUpstream(script)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
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
        // @unchecked: NIO calls a handler on its channel's event loop only, and the pieces are scheduled there.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let upstream: ScriptedStreamUpstream

        init(upstream: ScriptedStreamUpstream) { self.upstream = upstream }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            upstream.requests.withLock { $0 += 1 }
            let script = upstream.script.withLock { $0 }
            var headers = HTTPHeaders([("content-type", script.contentType)])
            if script.cutAtEnd { headers.add(name: "transfer-encoding", value: "chunked") }
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: script.status), headers: headers))),
                promise: nil)
            send(script, index: 0, context: context)
        }

        private func send(_ script: Script, index: Int, context: ChannelHandlerContext) {
            guard index < script.pieces.count else {
                if script.hangAtEnd { return }
                if script.cutAtEnd {
                    context.close(promise: nil)
                } else {
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
                return
            }
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: script.pieces[index])))), promise: nil)
            if script.gap == .zero {
                send(script, index: index + 1, context: context)
            } else {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: script.gap) {
                    let (handler, context) = loopBound.value
                    handler.send(script, index: index + 1, context: context)
                }
            }
        }
    }
}
