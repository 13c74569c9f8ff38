import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization
import SwitchyardCore

/// The fast path (issue 26): a channel handler between Hummingbird's HTTP codec and its router.
///
/// A plain `POST /v1/chat/completions` is collected here and offered to `Gateway.fastBegin`, which
/// decides without waiting on anything. When it can, the request is answered on this event loop:
/// an exact cache hit at once, or one upstream call over a pooled connection of the same loop
/// (`FastUpstreamPool`) — no Swift task, no executor hop, no second HTTP client. Everything else,
/// and every fast attempt that does not end in a clean answer (nothing has been written to the
/// client then), goes on to Hummingbird's router unchanged: the full pipeline, with its retries,
/// fallbacks and error envelopes. The reason rides along in `x-switchyard-full-path` (a header the
/// client cannot set: it is removed from every request first) and ends in `explain`.
///
/// Ordering: while a request handed to the full path is unanswered, later requests on the
/// connection go there too (the router answers in order); while a fast request is in flight, later
/// parts are held and reads stop.
final class FastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let fullPathHeader = HTTPField.Name("x-switchyard-full-path")!
    static let pathHeader = HTTPField.Name("x-switchyard-path")!
    /// Set on a request the fast path admitted under its rate limits before giving it up: the full path
    /// does not count it twice.
    static let admittedHeader = HTTPField.Name("x-switchyard-fast-admitted")!
    /// The token of a failed fast attempt the full path continues from (`Gateway.takeFastAttempt`).
    static let attemptHeader = HTTPField.Name("x-switchyard-fast-attempt")!

    private enum State {
        case idle
        /// Parts of a request the router gets, until its end.
        case passing
        /// A candidate's body, until its end.
        case collecting(HTTPRequest, ByteBuffer)
        /// A fast request waiting for its upstream answer.
        case waiting(HTTPRequest, ByteBuffer, FastExchange)
    }

    private let gateway: Gateway
    private let pools: FastUpstreamPools
    private let maxBodyBytes: Int
    private var state = State.idle
    /// Requests handed to the router whose responses have not ended yet.
    private var routerPending = 0
    private var held = CircularBuffer<HTTPRequestPart>()
    private var readHeld = false
    private var quiesceHeld = false
    /// The pool (and memo) of this channel's event loop, looked up once.
    private var loopPool: FastUpstreamPool?
    /// The relay of the streamed answer in flight, once its upstream answered with an event stream.
    private var relay: FastStream?
    /// True once the relayed stream's response head went to the client.
    private var relayHeadWritten = false
    /// True while the upstream is not read because the client's connection is full.
    private var relayPaused = false
    /// The request in hand asked for `Connection: close`: its answer says so, and the connection closes after it.
    private var closeAfterAnswer = false
    /// That answer was written: nothing more is read or answered on this connection.
    private var closing = false

    init(gateway: Gateway, pools: FastUpstreamPools, maxBodyBytes: Int) {
        self.gateway = gateway
        self.pools = pools
        self.maxBodyBytes = maxBodyBytes
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }  // after a `Connection: close` answer
        let part = unwrapInboundIn(data)
        if case .waiting = state {
            held.append(part)
            return
        }
        process(part, context: context)
    }

    private func process(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(var head)):
            head.headerFields[Self.fullPathHeader] = nil
            head.headerFields[Self.admittedHeader] = nil
            head.headerFields[Self.attemptHeader] = nil
            if routerPending == 0, let (length, close) = Self.candidate(head), length <= maxBodyBytes {
                closeAfterAnswer = close
                // The declared length is the client's word: it sizes the first buffer only up to 64 KiB.
                state = .collecting(head, context.channel.allocator.buffer(capacity: min(length, 65_536)))
            } else {
                state = .passing
                routerPending += 1
                context.fireChannelRead(wrapInboundOut(.head(head)))
            }
        case (.collecting(let head, var body), .body(var chunk)):
            guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                // Too large: the router answers 413 in the client's words.
                state = .passing
                routerPending += 1
                context.fireChannelRead(wrapInboundOut(.head(head)))
                context.fireChannelRead(wrapInboundOut(.body(body)))
                context.fireChannelRead(wrapInboundOut(.body(chunk)))
                return
            }
            state = .idle  // no copy of the buffer while it grows
            body.writeBuffer(&chunk)
            state = .collecting(head, body)
        case (.collecting(let head, let body), .end):
            decide(head, body: body, context: context)
        case (.passing, .end):
            state = .idle
            context.fireChannelRead(wrapInboundOut(part))
        case (.passing, _), (.idle, _):
            context.fireChannelRead(wrapInboundOut(part))
        case (.collecting, .head), (.waiting, _):
            // Not produced by the HTTP decoder; held parts are replayed only in `.idle`.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func decide(_ head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        let pool = loopPool ?? pools.pool(for: context.eventLoop)
        loopPool = pool
        switch gateway.fastBegin(presentedKey: Request.presentedKey(head.headerFields), body: body, memo: pool.memo) {
        case .full(let reason):
            handOff(head, body: body, reason: reason, context: context)
        case .fullAdmitted(let reason):
            handOff(head, body: body, reason: reason, admitted: true, context: context)
        case .answer(let answer):
            state = .idle
            write(answer, context: context)
        case .failed(let error):
            state = .idle
            writeError(error, requestID: CallContext.newRequestID(), context: context)
        case .handOff(let reason, let token):
            handOff(head, body: body, reason: reason, attempt: token, context: context)
        case .forward(let call):
            relay = nil
            relayPaused = false
            let onStream: ((FastStreamPart) -> Void)? =
                call.stream
                ? { [weak self] part in
                    guard let self else { return }
                    self.streamed(part, call: call, context: context)
                } : nil
            let exchange = pool.execute(call, onStream: onStream) { [weak self] result in
                guard let self else { return }
                self.settle(call, result: result, context: context)
            }
            if !exchange.done { state = .waiting(head, body, exchange) }
        }
    }

    private func settle(_ call: FastCall, result: FastUpstreamResult, context: ChannelHandlerContext) {
        guard case .waiting(let head, let body, let exchange) = state else {
            // The answer came at once (a refused connection reports before `execute` returns).
            if case .collecting(let head, let body) = state { finish(call, head: head, body: body, result: result, context: context) }
            return
        }
        // A stream that ended at its `[DONE]` reports its HTTP end later, maybe while another request waits.
        guard exchange.call.requestID == call.requestID else { return }
        if let relay {
            switch result {
            case .answered:
                relayed(relay.upstreamEnded(), head: head, body: body, exchange: exchange, context: context)
            case .failed(let reason, let timedOut):
                if relay.started {
                    relayed(
                        .failed(timedOut ? SwitchyardError(code: .upstreamTimeout, message: reason, status: 504) : SwitchyardError(
                            // The pool's reasons for a cut connection do not name the provider; this one does.
                            code: .badUpstreamResponse, message: "Provider '\(relay.provider)' ended the stream before it was complete.",
                            status: 502)),
                        head: head, body: body, exchange: exchange, context: context)
                } else {
                    self.relay = nil  // nothing of it was booked or sent: the attempt fails as an unstreamed one does
                    finish(call, head: head, body: body, result: result, context: context)
                }
            }
            return
        }
        finish(call, head: head, body: body, result: result, context: context)
    }

    // MARK: Streams

    /// A streamed answer's parts, as the upstream sends them.
    private func streamed(_ part: FastStreamPart, call: FastCall, context: ChannelHandlerContext) {
        guard case .waiting(let head, let body, let exchange) = state, exchange.call.requestID == call.requestID else { return }
        switch part {
        case .head:
            relay = gateway.fastStreamBegin(call)
        case .body(let buffer):
            guard let relay else { return }
            relayed(relay.feed(buffer), head: head, body: body, exchange: exchange, context: context)
        }
    }

    /// Acts on what the relay made of the upstream's latest bytes.
    private func relayed(
        _ step: FastStream.Step, head: HTTPRequest, body: ByteBuffer, exchange: FastExchange, context: ChannelHandlerContext
    ) {
        guard let relay else { return }
        switch step {
        case .hold:
            return
        case .output(let bytes):
            if !relayHeadWritten { writeStreamHead(relay, context: context, exchange: exchange) }
            context.writeAndFlush(wrapOutboundOut(.body(bytes)), promise: nil)
            if !context.channel.isWritable, !relayPaused {
                // The client reads slower than the upstream writes: stop reading the upstream until it drains.
                relayPaused = true
                exchange.setReading(false)
            }
        case .end(let bytes):
            if !relayHeadWritten { writeStreamHead(relay, context: context, exchange: exchange) }
            context.write(wrapOutboundOut(.body(bytes)), promise: nil)
            endResponse(context: context)
            endRelay(exchange, context: context, closeUpstream: false)
        case .failed(let error):
            if relay.started {
                relay.fail(error)
                if let event = try? StreamRelay.openAIError(error, encoder: StreamRelay.encoder()) {
                    context.write(wrapOutboundOut(.body(event)), promise: nil)
                }
                endResponse(context: context)
                endRelay(exchange, context: context, closeUpstream: true)
            } else {
                // Nothing reached the client: the attempt failed, and the full path retries or answers it.
                self.relay = nil
                exchange.cancel()
                let decision = gateway.fastStreamFailed(exchange.call, error)
                conclude(decision, call: exchange.call, head: head, body: body, context: context)
            }
        }
    }

    private func writeStreamHead(_ relay: FastStream, context: ChannelHandlerContext, exchange: FastExchange) {
        relayHeadWritten = true
        var fields = SSE.headers
        for field in ChatCompletionsRoute.headers(
            requestID: relay.call.requestID, variant: nil, model: relay.model, provider: relay.provider, trace: relay.trace,
            admission: relay.admission)
        {
            fields.append(field)
        }
        addFastFields(&fields)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
    }

    /// The stream is over for the client: the next request may go, and a stream that ended early stops the upstream.
    private func endRelay(_ exchange: FastExchange, context: ChannelHandlerContext, closeUpstream: Bool) {
        if closeUpstream {
            exchange.cancel()
        } else {
            if relayPaused { exchange.setReading(true) }  // its HTTP end is still to come, to free the connection
            exchange.abandon(after: .seconds(5))  // an upstream that never ends its body after `[DONE]` is not waited for
        }
        relay = nil
        relayPaused = false
        relayHeadWritten = false
        state = .idle
        resume(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if relayPaused, context.channel.isWritable, case .waiting(_, _, let exchange) = state {
            relayPaused = false
            exchange.setReading(true)
        }
        context.fireChannelWritabilityChanged()
    }

    private func finish(_ call: FastCall, head: HTTPRequest, body: ByteBuffer, result: FastUpstreamResult, context: ChannelHandlerContext) {
        let decision: FastDecision
        switch result {
        case .answered(let status, let headers, let answerBody):
            decision = gateway.fastFinish(call, status: status, headers: headers, body: answerBody)
        case .failed(let reason, let timedOut):
            decision = gateway.fastFailed(call, reason: reason, timedOut: timedOut)
        }
        conclude(decision, call: call, head: head, body: body, context: context)
    }

    /// Answers, or hands to the full path, a fast request whose upstream call is over.
    private func conclude(_ decision: FastDecision, call: FastCall, head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        switch decision {
        case .answer(let answer):
            state = .idle
            write(answer, context: context)
        case .failed(let error):
            state = .idle
            writeError(error, requestID: call.requestID, context: context)
        case .handOff(let reason, let token):
            handOff(head, body: body, reason: reason, admitted: true, attempt: token, context: context)
        case .full(let reason), .fullAdmitted(let reason):
            handOff(head, body: body, reason: reason, admitted: true, context: context)
        case .forward:
            handOff(head, body: body, reason: "fast finish", admitted: true, context: context)
        }
        resume(context: context)
    }

    /// The full pipeline takes the request: its parts go on to the router as they came.
    private func handOff(
        _ head: HTTPRequest, body: ByteBuffer, reason: String, admitted: Bool = false, attempt: String? = nil,
        context: ChannelHandlerContext
    ) {
        var head = head
        head.headerFields[Self.fullPathHeader] = HeaderValue.bounded(reason) ?? "fast path declined"
        if admitted { head.headerFields[Self.admittedHeader] = "true" }
        if let attempt { head.headerFields[Self.attemptHeader] = attempt }
        state = .idle
        routerPending += 1
        context.fireChannelRead(wrapInboundOut(.head(head)))
        if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
        context.fireChannelRead(wrapInboundOut(.end(nil)))
        context.fireChannelReadComplete()
    }

    /// After a fast request: the parts that arrived meanwhile, then reads and a held quiesce.
    private var isWaiting: Bool {
        if case .waiting = state { return true }
        return false
    }

    private func resume(context: ChannelHandlerContext) {
        if closing {
            held.removeAll()
            return
        }
        var replayed = false
        while !isWaiting, let part = held.popFirst() {
            process(part, context: context)
            replayed = true
        }
        if case .waiting = state { return }
        if replayed { context.fireChannelReadComplete() }
        if readHeld {
            readHeld = false
            context.read()
        }
        if quiesceHeld, case .idle = state {
            quiesceHeld = false
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            switch state {
            case .waiting, .collecting:
                quiesceHeld = true  // closing now would drop the request in flight
                return
            default: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .waiting(_, _, let exchange) = state {
            exchange.cancel()
            if let relay, relay.started {
                relay.cancel()
            } else {
                gateway.fastCancelled(exchange.call)
            }
            relay = nil
            state = .idle
        }
        context.fireChannelInactive()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if case .waiting = state {
            readHeld = true
            return
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routerPending > 0 { routerPending -= 1 }
        context.write(data, promise: promise)
    }

    private func write(_ answer: FastAnswer, context: ChannelHandlerContext) {
        var fields = ChatCompletionsRoute.headers(
            requestID: answer.requestID, variant: nil, model: answer.model, provider: answer.provider, trace: answer.trace,
            cache: answer.cache, admission: answer.admission)
        fields[.switchyardCost] = CostFormat.string(answer.costUSD)
        if answer.usageEstimated { fields[.switchyardUsageEstimated] = "true" }
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(answer.body.readableBytes)
        addFastFields(&fields)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        endResponse(context: context)
    }

    /// What every fast-path answer's head says besides its own fields: the path, `Date`, `Server`, and
    /// `connection: close` when the client asked for it.
    private func addFastFields(_ fields: inout HTTPFields) {
        fields[Self.pathHeader] = "fast"
        fields[.date] = Self.httpDate()
        fields[.server] = "switchyard"
        if closeAfterAnswer { fields[.connection] = "close" }
    }

    /// The answer's end; then, for a client that asked for `Connection: close`, the connection's (once it is written).
    private func endResponse(context: ChannelHandlerContext) {
        guard closeAfterAnswer else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        closing = true
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func writeError(_ error: SwitchyardError, requestID: String, context: ChannelHandlerContext) {
        var (status, fields, body) = ErrorResponses.parts(error, protocol: .openai, requestID: requestID)
        fields[.contentLength] = String(body.readableBytes)
        addFastFields(&fields)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        endResponse(context: context)
    }

    private static let dateCache = Mutex<(second: Int, text: String)>((0, ""))

    /// `Date` (RFC 9110 IMF-fixdate), formatted once a second.
    static func httpDate() -> String {
        let now = time(nil)
        return dateCache.withLock { cache in
            if cache.second == now, !cache.text.isEmpty { return cache.text }
            var seconds = now
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let text = "\(days[Int(parts.tm_wday) % 7]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon) % 12]) \(parts.tm_year + 1900) "
                + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
            cache = (now, text)
            return text
        }
    }

    // MARK: Candidates

    /// A request the fast path may take: `POST /v1/chat/completions` (or `/chat/completions`) with a
    /// JSON body of a declared length, without headers that change what the pipeline does.
    /// The declared body length of a candidate, and whether it asked for `Connection: close`; nil for any other
    /// request. One pass over the headers.
    static func candidate(_ head: HTTPRequest) -> (length: Int, close: Bool)? {
        guard head.method == .post, let path = head.path, path == "/v1/chat/completions" || path == "/chat/completions" else { return nil }
        var length: Int?
        var close = false
        for field in head.headerFields {
            let name = field.name.canonicalName.utf8
            switch name.first {
            case UInt8(ascii: "x"):
                if name.starts(with: "x-switchyard-".utf8) { return nil }
            case UInt8(ascii: "t"):
                if name.elementsEqual("traceparent".utf8) || name.elementsEqual("transfer-encoding".utf8) { return nil }
            case UInt8(ascii: "e"):
                if name.elementsEqual("expect".utf8) { return nil }
            case UInt8(ascii: "c"):
                if name.elementsEqual("content-length".utf8) {
                    // Two lengths (even equal ones) go to the router, which answers as HTTP says.
                    guard length == nil, let value = Int(field.value), value >= 0 else { return nil }
                    length = value
                } else if name.elementsEqual("connection".utf8) {
                    if field.value.lowercased().contains("close") { close = true }
                } else if name.elementsEqual("content-type".utf8) {
                    if !field.value.lowercased().hasPrefix("application/json") { return nil }
                }
            default:
                break
            }
        }
        return length.map { ($0, close) }
    }
}
