import Gateway
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The outcome of one fast-path upstream exchange.
enum FastUpstreamResult {
    /// A whole answer: its status, headers and body.
    case answered(status: Int, headers: HTTPHeaders, body: ByteBuffer)
    /// No usable answer (refused, reset, timed out, too large, no connection free): nothing of it
    /// reached the client, and the full pipeline takes the request.
    case failed(String, timedOut: Bool)
}

/// HTTP/1.1 connections to upstream origins, kept per event loop and used only on it: a fast-path
/// request goes out on a connection of the loop its client connection lives on, so the request, the
/// upstream answer and the reply to the client never change threads.
final class FastUpstreamPool {
    private let eventLoop: any EventLoop
    private var idle: [FastOrigin: [Channel]] = [:]
    private var open: [FastOrigin: Int] = [:]
    private var tlsContext: NIOSSLContext?
    /// The loop's memo of request bodies seen before (kept here: it is per loop too).
    let memo = FastRequestMemo()

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Sends `call` and reports once, on this loop. Returns the exchange so a client that goes away
    /// can cancel it.
    ///
    /// With `onStream`, a 2xx event-stream answer is not collected: its head and then each piece of its
    /// body go to `onStream` as they arrive, and `completion` reports its end (`.answered` with an empty
    /// body) or its failure; any other answer is collected and reported whole, as without it.
    @discardableResult
    func execute(
        _ call: FastCall, onStream: ((FastStreamPart) -> Void)? = nil, completion: @escaping (FastUpstreamResult) -> Void
    ) -> FastExchange {
        eventLoop.preconditionInEventLoop()
        let exchange = FastExchange(call: call, completion: completion)
        exchange.onStream = onStream
        exchange.timeout = eventLoop.assumeIsolated().scheduleTask(in: call.timeout) { [weak exchange] in
            exchange?.fail("upstream timed out after \(call.timeout.nanoseconds / 1_000_000) ms", timedOut: true)
        }
        start(exchange, mayRetry: true)
        return exchange
    }

    private func start(_ exchange: FastExchange, mayRetry: Bool) {
        let origin = exchange.call.origin
        while var channels = idle[origin], let channel = channels.popLast() {
            idle[origin] = channels
            guard channel.isActive else { continue }
            send(exchange, on: channel, reused: true, mayRetry: mayRetry)
            return
        }
        connect(origin) { result in
            switch result {
            case .success(let channel): self.send(exchange, on: channel, reused: false, mayRetry: false)
            case .failure(let failure): exchange.fail(failure.reason)
            }
        }
    }

    struct ConnectFailure: Error {
        var reason: String
    }

    /// Opens a new connection to `origin`, counted against its limit until it closes.
    private func connect(_ origin: FastOrigin, _ completion: @escaping (Result<Channel, ConnectFailure>) -> Void) {
        guard open[origin, default: 0] < origin.maxConnections else {
            completion(.failure(ConnectFailure(reason: "all \(origin.maxConnections) fast-path connections to \(origin.host):\(origin.port) are busy")))
            return
        }
        open[origin, default: 0] += 1
        let tls: NIOSSLContext?
        if origin.tls {
            do {
                tls = try tlsContext ?? NIOSSLContext(configuration: .makeClientConfiguration())
                tlsContext = tls
            } catch {
                open[origin, default: 1] -= 1
                completion(.failure(ConnectFailure(reason: "TLS setup failed")))
                return
            }
        } else {
            tls = nil
        }
        let host = origin.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: Self.isIPAddress(host) ? nil : host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(FastUpstreamHandler())
                }
            }
        bootstrap.connect(host: origin.host, port: origin.port).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                channel.closeFuture.assumeIsolated().whenComplete { _ in
                    self.open[origin, default: 1] -= 1
                    self.idle[origin]?.removeAll { $0 === channel }
                }
                completion(.success(channel))
            case .failure:
                self.open[origin, default: 1] -= 1
                completion(.failure(ConnectFailure(reason: "could not connect to \(origin.host):\(origin.port)")))
            }
        }
    }

    /// Opens `count` new connections to `warm.origin`, sends `GET warm.target` on each and keeps those that
    /// answer (any status) for requests; reports how many did and the first failure. Each is given 10 s.
    func prewarm(_ warm: FastPrewarm, count: Int, _ completion: @escaping (_ answered: Int, _ failure: String?) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard count > 0 else { return completion(0, nil) }
        var remaining = count
        var answered = 0
        var firstFailure: String?
        let one: (String?) -> Void = { failure in
            if let failure { firstFailure = firstFailure ?? failure } else { answered += 1 }
            remaining -= 1
            if remaining == 0 { completion(answered, firstFailure) }
        }
        for _ in 0..<count {
            connect(warm.origin) { result in
                switch result {
                case .failure(let failure):
                    one(failure.reason)
                case .success(let channel):
                    self.warm(channel, warm, one)
                }
            }
        }
    }

    private func warm(_ channel: Channel, _ warm: FastPrewarm, _ done: @escaping (String?) -> Void) {
        guard let handler = try? channel.pipeline.syncOperations.handler(type: FastUpstreamHandler.self) else {
            channel.close(promise: nil)
            return done("upstream connection without its handler")
        }
        let deadline = eventLoop.assumeIsolated().scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        handler.begin(maxBytes: 1 << 20) { [weak self] outcome in
            deadline.cancel()
            switch outcome {
            case .answered(_, _, _, let keepAlive):
                if keepAlive, let self { self.release(channel, origin: warm.origin) } else { channel.close(promise: nil) }
                done(nil)
            case .closed:
                done("the connection closed before an answer")
            case .tooLarge:
                channel.close(promise: nil)
                done("an answer over 1 MiB")
            }
        }
        var headers = HTTPHeaders()
        let origin = warm.origin
        let defaultPort = origin.tls ? 443 : 80
        headers.add(name: "host", value: origin.port == defaultPort ? origin.host : "\(origin.host):\(origin.port)")
        for (name, value) in warm.headers { headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: warm.target, headers: headers)), promise: nil)
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
        written.futureResult.assumeIsolated().whenFailure { _ in handler.connectionLost() }
    }

    private func send(_ exchange: FastExchange, on channel: Channel, reused: Bool, mayRetry: Bool) {
        guard !exchange.done else {
            release(channel, origin: exchange.call.origin)
            return
        }
        guard let handler = try? channel.pipeline.syncOperations.handler(type: FastUpstreamHandler.self) else {
            channel.close(promise: nil)
            exchange.fail("upstream connection without its handler")
            return
        }
        let call = exchange.call
        exchange.channel = channel
        handler.begin(maxBytes: call.maxResponseBytes, onStream: exchange.onStream.map { sink in { [weak exchange] part in
            guard let exchange, !exchange.done else { return }
            if case .head = part { exchange.streamBegan(idle: call.timeout) } else { exchange.touch() }
            sink(part)
        } }) { [weak self] outcome in
            guard let self else { return }
            switch outcome {
            case .answered(let status, let headers, let body, let keepAlive):
                exchange.channel = nil
                if keepAlive, !exchange.done { self.release(channel, origin: call.origin) } else { channel.close(promise: nil) }
                exchange.succeed(status: status, headers: headers, body: body)
            case .closed(let gotHead):
                exchange.channel = nil
                // A kept-alive connection the server had closed before this request reached it: once more, on a new one.
                if reused, mayRetry, !gotHead, !exchange.done {
                    self.start(exchange, mayRetry: false)
                } else {
                    exchange.fail("upstream closed the connection")
                }
            case .tooLarge:
                exchange.channel = nil
                channel.close(promise: nil)
                exchange.fail("upstream answer over \(call.maxResponseBytes) bytes")
            }
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(call.headers.count + 3)
        let origin = call.origin
        let defaultPort = origin.tls ? 443 : 80
        headers.add(name: "host", value: origin.port == defaultPort ? origin.host : "\(origin.host):\(origin.port)")
        headers.add(name: "content-length", value: String(call.body.readableBytes))
        for (name, value) in call.headers { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: call.target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(call.body)), promise: nil)
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
        // A connection that closed before the request went out reports here (its close may have come before `begin`).
        written.futureResult.assumeIsolated().whenFailure { _ in handler.connectionLost() }
    }

    private func release(_ channel: Channel, origin: FastOrigin) {
        guard channel.isActive else { return }
        idle[origin, default: []].append(channel)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// A piece of a streamed answer, relayed as it arrives.
enum FastStreamPart {
    /// The answer's head: a 2xx with an event stream.
    case head(status: Int, headers: HTTPHeaders)
    case body(ByteBuffer)
}

/// One request on the fast path's upstream connection: reports once, then is done.
final class FastExchange {
    let call: FastCall
    /// Where a streamed answer's parts go (set for streamed calls).
    var onStream: ((FastStreamPart) -> Void)?
    private var completion: ((FastUpstreamResult) -> Void)?
    var timeout: Scheduled<Void>?
    var channel: Channel?
    var done: Bool { completion == nil }

    init(call: FastCall, completion: @escaping (FastUpstreamResult) -> Void) {
        self.call = call
        self.completion = completion
    }

    func succeed(status: Int, headers: HTTPHeaders, body: ByteBuffer) {
        finish(.answered(status: status, headers: headers, body: body))
    }

    func fail(_ reason: String, timedOut: Bool = false) {
        // Reported first, then the connection closed: a close on the loop runs the handler's `channelInactive` at
        // once, which failed the exchange again as "upstream closed the connection" — and, reported first, turned
        // every fast-path timeout into a 502 instead of a 504.
        let channel = self.channel
        self.channel = nil
        finish(.failed(reason, timedOut: timedOut))
        // A connection in the middle of an exchange is not reusable: its answer would arrive for the next one.
        channel?.close(promise: nil)
    }

    /// The provider's timeout between a stream's bytes, once its head came (nil before): as the full path's
    /// read timeout, a stream the upstream stops sending is cut off after it.
    private var idleTimeout: TimeAmount?
    private var lastActivity = NIODeadline.now()
    private var abandoned = false

    /// A streamed answer's head came: from now on the timeout counts from the last byte, not from the request.
    func streamBegan(idle: TimeAmount) {
        guard let loop = channel?.eventLoop, !done else { return }
        idleTimeout = idle
        lastActivity = .now()
        timeout?.cancel()
        scheduleIdleCheck(at: lastActivity + idle, on: loop)
    }

    /// Bytes of the stream came (cheap: the timer is moved only when it fires).
    func touch() {
        lastActivity = .now()
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, on loop: any EventLoop) {
        timeout = loop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self, let idle = self.idleTimeout, !self.done, !self.abandoned else { return }
            let due = self.lastActivity + idle
            if due > .now() {
                self.scheduleIdleCheck(at: due, on: loop)
            } else {
                self.fail(
                    "Provider '\(self.call.provider)' sent nothing for \(idle.nanoseconds / 1_000_000) ms; the stream was cut off.",
                    timedOut: true)
            }
        }
    }

    /// Closes the connection unless the exchange reports within `delay` (a stream the client already has whole).
    func abandon(after delay: TimeAmount) {
        guard !done, let channel else { return }
        abandoned = true
        timeout?.cancel()
        timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            guard let self, !self.done else { return }
            self.cancel()
        }
    }

    /// Stops or resumes reading the upstream's answer (the client's connection is full, or drained).
    func setReading(_ reading: Bool) {
        guard let channel else { return }
        channel.setOption(ChannelOptions.autoRead, value: reading).whenComplete { _ in }
        if reading { channel.read() }
    }

    /// The client went away: nothing is reported (the completion is dropped before the close, whose
    /// `channelInactive` would report otherwise) and the upstream connection is closed.
    func cancel() {
        let channel = self.channel
        self.channel = nil
        timeout?.cancel()
        completion = nil
        channel?.close(promise: nil)
    }

    private func finish(_ result: FastUpstreamResult) {
        timeout?.cancel()
        timeout = nil
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }
}

/// Reads one response at a time on an upstream connection, bounded.
final class FastUpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    enum Outcome {
        case answered(status: Int, headers: HTTPHeaders, body: ByteBuffer, keepAlive: Bool)
        /// The connection ended before the answer did; `gotHead` when part of it came.
        case closed(gotHead: Bool)
        case tooLarge
    }

    private var onOutcome: ((Outcome) -> Void)?
    private var onStream: ((FastStreamPart) -> Void)?
    /// True while a streamed answer's body is relayed rather than collected.
    private var relaying = false
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var maxBytes = 0

    func begin(maxBytes: Int, onStream: ((FastStreamPart) -> Void)? = nil, _ onOutcome: @escaping (Outcome) -> Void) {
        self.onOutcome = onOutcome
        self.onStream = onStream
        self.maxBytes = maxBytes
        relaying = false
        head = nil
        body.clear()
    }

    /// A 2xx whose content type is `text/event-stream`.
    static func isEventStream(_ head: HTTPResponseHead) -> Bool {
        guard (200..<300).contains(head.status.code), let type = head.headers.first(name: "content-type") else { return false }
        return type.utf8.count >= 17 && type.lowercased().hasPrefix("text/event-stream")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard onOutcome != nil else {
            context.close(promise: nil)  // bytes nobody asked for: the connection is out of step, and not reused
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let received):
            // 1xx heads (100 Continue) come before the real one.
            if received.status.code < 200 { return }
            head = received
            if let onStream, Self.isEventStream(received) {
                relaying = true
                onStream(.head(status: Int(received.status.code), headers: received.headers))
            }
        case .body(var chunk):
            guard head != nil else { return }
            if relaying {
                onStream?(.body(chunk))
                return
            }
            if body.readableBytes + chunk.readableBytes > maxBytes {
                report(.tooLarge)
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            let answer = body
            body = ByteBuffer()
            self.head = nil
            report(.answered(status: Int(head.status.code), headers: head.headers, body: answer, keepAlive: head.isKeepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connectionLost()
        context.fireChannelInactive()
    }

    /// The connection ended (or a write on it failed) before the answer did.
    func connectionLost() {
        report(.closed(gotHead: head != nil))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func report(_ outcome: Outcome) {
        guard let onOutcome else { return }
        self.onOutcome = nil
        onStream = nil
        relaying = false
        onOutcome(outcome)
    }
}

/// The fast path's pools, one per event loop.
final class FastUpstreamPools: Sendable {
    /// Opens each provider's `prewarm_connections` in the pools of `group`'s loops (split evenly over them: a
    /// request uses a connection of its client's loop), and reports per provider how many answered.
    func prewarm(_ warms: [FastPrewarm], on group: any EventLoopGroup) async -> [(warm: FastPrewarm, answered: Int, failure: String?)] {
        let loops = Array(group.makeIterator())
        guard !loops.isEmpty else { return [] }
        var results: [(warm: FastPrewarm, answered: Int, failure: String?)] = []
        for warm in warms {
            var answered = 0
            var failure: String?
            await withTaskGroup(of: (Int, String?).self) { tasks in
                for (index, loop) in loops.enumerated() {
                    let share = warm.count / loops.count + (index < warm.count % loops.count ? 1 : 0)
                    guard share > 0 else { continue }
                    tasks.addTask {
                        await withCheckedContinuation { continuation in
                            loop.execute {
                                self.pool(for: loop).prewarm(warm, count: share) { done, failed in continuation.resume(returning: (done, failed)) }
                            }
                        }
                    }
                }
                for await (done, failed) in tasks {
                    answered += done
                    failure = failure ?? failed
                }
            }
            results.append((warm, answered, failure))
        }
        return results
    }

    private let pools = Mutex<[ObjectIdentifier: NIOLoopBound<FastUpstreamPool>]>([:])

    /// The pool of `eventLoop`; call only on that loop.
    func pool(for eventLoop: any EventLoop) -> FastUpstreamPool {
        let id = ObjectIdentifier(eventLoop)
        return pools.withLock { pools in
            if let pool = pools[id] { return pool.value }
            let pool = FastUpstreamPool(eventLoop: eventLoop)
            pools[id] = NIOLoopBound(pool, eventLoop: eventLoop)
            return pool
        }
    }
}
