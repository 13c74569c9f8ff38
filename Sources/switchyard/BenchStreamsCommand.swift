import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `switchyard bench streams URL`: N concurrent streamed chat completions on one event loop, each on its own
/// HTTP/1.1 connection; prints time to the first token (the first `data:` event with text), to the first `data:`
/// line at all, and to `[DONE]` (percentiles), errors and, with
/// `--pid`, the peak RSS of that process while they ran. The bytes are read raw (no HTTP codec, no JSON), so the
/// client costs next to nothing beside what it measures: the Python client it replaces saturated a core at a
/// thousand streams and put a second of its own into every figure.
struct BenchStreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "N concurrent streamed chat completions against an OpenAI-style base URL: TTFT and total-time percentiles.")

    @Argument(help: "Base URL, e.g. http://127.0.0.1:4000/v1 (http only).")
    var url: String

    @Option(help: "Concurrent streams, one connection each.")
    var streams = 1_000

    @Option(help: "Model to ask for.")
    var model = "gpt-4o-mini"

    @Option(help: "Process whose peak RSS to report (the gateway).")
    var pid: Int32?

    @Option(help: "Label printed on the RESULT line.")
    var label = "run"

    @Option(help: "Seconds before a stream counts as an error.")
    var timeout = 60

    @Option(help: "Chunks the mock upstream sends, one every --chunk-delay-ms (the first at once).")
    var words = 10

    @Option(help: "Milliseconds between the mock upstream's chunks.")
    var chunkDelayMs = 100

    func run() async throws {
        guard (1...100_000).contains(streams), (1...3_600).contains(timeout), (1...1_000).contains(words), (0...60_000).contains(chunkDelayMs)
        else { throw ValidationError("--streams 1-100000, --timeout 1-3600, --words 1-1000, --chunk-delay-ms 0-60000") }
        guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host else {
            throw ValidationError("the URL must be http://HOST:PORT/PATH")
        }
        let port = parsed.port ?? 80
        let path = (parsed.path.hasSuffix("/") ? String(parsed.path.dropLast()) : parsed.path) + "/chat/completions"
        let reply = (0..<words).map { "w\($0)" }.joined(separator: " ")
        // Encoded, not interpolated: a model name with a quote or a backslash stays one JSON string.
        let json: [String: Any] = [
            "model": model, "stream": true, "max_tokens": 64,
            "messages": [["role": "user", "content": "[[reply: \(reply)]] [[chunk-delay: \(chunkDelayMs)]]"]],
        ]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        // Kept alive, as SDK clients send it (this client closes each connection at `[DONE]`): `Connection: close`
        // would send every stream through the gateway's full pipeline, which is not what clients get.
        let request = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let peak = RSSWatcher(pid: pid)
        let began = NIODeadline.now()
        var outcomes: [EventLoopFuture<StreamOutcome>] = []
        outcomes.reserveCapacity(streams)
        for _ in 0..<streams {
            let promise = group.next().makePromise(of: StreamOutcome.self)
            let handler = StreamProbe(request: request, started: .now(), promise: promise)
            ClientBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .connectTimeout(.seconds(Int64(timeout)))
                .channelInitializer { channel in channel.pipeline.addHandler(handler) }
                .connect(host: host, port: port)
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        channel.eventLoop.scheduleTask(in: .seconds(Int64(timeout))) {
                            handler.fail("timeout", channel: channel)
                        }
                    case .failure(let error):
                        promise.succeed(.error("connect: \(type(of: error))"))
                    }
                }
            outcomes.append(promise.futureResult)
        }
        let results = try await EventLoopFuture.whenAllSucceed(outcomes, on: group.next()).get()  // every promise succeeds
        try await group.shutdownGracefully()
        let wall = Double((NIODeadline.now() - began).nanoseconds) / 1e9
        let rss = peak.stop()

        var ttft: [Double] = [], firstData: [Double] = [], total: [Double] = [], errors: [String: Int] = [:]
        for result in results {
            switch result {
            case .ok(let data, let token, let whole):
                firstData.append(data)
                ttft.append(token)
                total.append(whole)
            case .error(let why):
                errors[why, default: 0] += 1
            }
        }
        var line = "RESULT \(label) streams=\(streams) ok=\(ttft.count) errors=\(errors.values.reduce(0, +))"
        line += String(format: " ttft_p50_ms=%.1f ttft_p99_ms=%.1f", Self.percentile(ttft, 50), Self.percentile(ttft, 99))
        line += String(format: " first_data_p50_ms=%.1f first_data_p99_ms=%.1f", Self.percentile(firstData, 50), Self.percentile(firstData, 99))
        line += String(format: " total_p50_ms=%.0f total_p99_ms=%.0f wall_s=%.2f", Self.percentile(total, 50), Self.percentile(total, 99), wall)
        if let rss { line += " peak_rss_mb=\(rss / 1024)" }
        print(line)
        if !errors.isEmpty { print("errors:", errors.sorted { $0.key < $1.key }.prefix(5).map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")) }
    }

    /// Nearest-rank percentile (the Python client this replaced computed it so); NaN for no values.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let ordered = values.sorted()
        let rank = Int((p / 100 * Double(ordered.count) + 0.5).rounded()) - 1
        return ordered[min(ordered.count - 1, max(0, rank))]
    }
}

enum StreamOutcome: Sendable {
    /// Milliseconds to the first `data:` line, to the first token (a `"content":"…"` that is not empty) and to `[DONE]`.
    case ok(Double, Double, Double)
    case error(String)
}

/// One stream: writes the request when connected, then watches the raw bytes for the status line, the first
/// `data:` and `[DONE]` (across reads: the last few bytes of each read are kept).
final class StreamProbe: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: touched only on its channel's event loop.
    typealias InboundIn = ByteBuffer

    private let request: String
    private let started: NIODeadline
    private let promise: EventLoopPromise<StreamOutcome>
    private var head: [UInt8] = []
    private var headerDone = false
    private var firstData: NIODeadline?
    private var firstToken: NIODeadline?
    private var tail: [UInt8] = []
    private var done = false

    init(request: String, started: NIODeadline, promise: EventLoopPromise<StreamOutcome>) {
        self.request = request
        self.started = started
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var buffer = unwrapInboundIn(data)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        var body = ArraySlice(bytes)
        if !headerDone {
            head.append(contentsOf: bytes)
            guard let end = Self.find(Array("\r\n\r\n".utf8), in: head[...]) else {
                if head.count > 16_384 { finish(.error("header too long"), context.channel) }
                return
            }
            headerDone = true
            guard head.starts(with: Array("HTTP/1.1 200".utf8)) || head.starts(with: Array("HTTP/1.0 200".utf8)) else {
                let status = String(decoding: head.prefix(12).dropFirst(9), as: UTF8.self)
                finish(.error("HTTP \(status)"), context.channel)
                return
            }
            body = head[(end + 4)...]
            head = []
        }
        let window = tail + body
        if firstData == nil, Self.find(Array("data:".utf8), in: window[...]) != nil { firstData = .now() }
        if firstToken == nil, Self.hasText(window[...]) { firstToken = .now() }
        if Self.find(Array("[DONE]".utf8), in: window[...]) != nil {
            let now = NIODeadline.now()
            finish(
                .ok(Self.milliseconds(started, firstData ?? now), Self.milliseconds(started, firstToken ?? now), Self.milliseconds(started, now)),
                context.channel)
            return
        }
        // Enough to hold a `"content":"` and the byte after it across two reads.
        tail = Array(window.suffix(16))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.error(headerDone ? "incomplete stream" : "closed before an answer"), nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.error("\(type(of: error))"), context.channel)
    }

    /// Called by the timeout, on the channel's loop.
    func fail(_ why: String, channel: Channel) {
        channel.eventLoop.execute { self.finish(.error(why), channel) }
    }

    private func finish(_ outcome: StreamOutcome, _ channel: Channel?) {
        guard !done else { return }
        done = true
        promise.succeed(outcome)
        channel?.close(promise: nil)
    }

    static func milliseconds(_ from: NIODeadline, _ to: NIODeadline) -> Double { Double((to - from).nanoseconds) / 1e6 }

    private static let contentKey = Array(#""content":""#.utf8)

    /// True when a `"content":"` in `window` is followed by anything but its closing quote: text has come.
    static func hasText(_ window: ArraySlice<UInt8>) -> Bool {
        var rest = window
        while let at = find(contentKey, in: rest) {
            let next = at + contentKey.count
            guard next < rest.endIndex else { return false }
            if rest[next] != UInt8(ascii: "\"") { return true }
            rest = rest[next...]
        }
        return false
    }

    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

/// Polls `/proc/PID/status` every 50 ms on a thread of its own and keeps the largest VmRSS (kB).
final class RSSWatcher: @unchecked Sendable {
    // @unchecked: `peak` and `running` are guarded by `lock`.
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private let pid: Int32?

    init(pid: Int32?) {
        self.pid = pid
        guard let pid else { return }
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                   let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                   let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
                    lock.withLock { peak = max(peak, kilobytes) }
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        thread.start()
    }

    /// Stops polling; the peak in kB, or nil without a pid.
    func stop() -> Int? {
        lock.withLock { running = false }
        return pid == nil ? nil : lock.withLock { peak }
    }
}
