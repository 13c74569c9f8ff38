import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Storage
import SwitchyardCore
import Testing

/// Streams on the fast path (issue 26) against upstreams that split, bend and break OpenAI's event
/// stream: what the client reads, what the log books, and that nothing reaches the client before the
/// stream is known to be good.
@Suite struct FastStreamLiveTests {
    static func chunk(_ delta: String, finish: String? = nil, usage: String = "null", choices: String? = nil) -> String {
        let finishJSON = finish.map { "\"\($0)\"" } ?? "null"
        let choiceList = choices ?? #"[{"index":0,"delta":\#(delta),"finish_reason":\#(finishJSON)}]"#
        return #"data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":7,"model":"up-model","choices":\#(choiceList),"usage":\#(usage)}"# + "\n\n"
    }

    static let role = chunk(#"{"role":"assistant","content":""}"#)
    static let usageChunk = chunk("", usage: #"{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}"#, choices: "[]")
    static let good = [
        role, chunk(#"{"content":"alpha"}"#), chunk(#"{"content":" beta"}"#), chunk(#"{"content":" gamma"}"#), chunk("{}", finish: "stop"),
        usageChunk, "data: [DONE]\n\n",
    ]

    static func run(
        _ script: ScriptedStreamUpstream.Script, timeoutMs: Int = 5000,
        _ body: @escaping @Sendable (any TestClientProtocol, ScriptedStreamUpstream) async throws -> Void
    ) async throws {
        let upstream = try await ScriptedStreamUpstream.start(script)
        let clients = Gateway.makeUpstreamClients()
        do {
            let yaml = """
                server: {fast_path: true}
                providers:
                  - {name: scripted, kind: openai, base_url: "\(upstream.baseURL)/v1", api_key: sk-scripted, timeout_ms: \(timeoutMs)}
                models:
                  - {name: s, provider: scripted, upstream: up-model, price: {input: 1, output: 2}}
                """
            let gateway = Gateway(
                configuration: try ConfigurationLoader.parse(yaml, source: "<test>"), upstreamClients: clients,
                requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")))
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in try await body(client, upstream) }
        } catch {
            await clients.shutdown()
            await upstream.stop()
            throw error
        }
        await clients.shutdown()
        await upstream.stop()
    }

    static func ask(_ client: any TestClientProtocol, includeUsage: Bool = true) async throws -> TestResponse {
        let options = includeUsage ? #", "stream_options": {"include_usage": true}"# : ""
        return try await client.post(
            "/v1/chat/completions", json: #"{"model": "s", "stream": true, "messages": [{"role": "user", "content": "hi"}]\#(options)}"#,
            key: nil)
    }

    static func record(_ client: any TestClientProtocol, _ answer: TestResponse) async throws -> JSONValue? {
        try await client.get("/v1/switchyard/requests/\(answer.header("x-switchyard-request-id") ?? "")", key: nil).json
    }

    @Test(arguments: [0, 1, 7])
    func aStreamSplitAnywhereReadsTheSame(pieceBytes: Int) async throws {
        // 0: the whole stream in one write; 1: a byte a write; 7: splits inside lines, keys and the blank lines.
        let bytes = Array(Self.good.joined().utf8)
        let pieces = pieceBytes == 0 ? [bytes] : stride(from: 0, to: bytes.count, by: pieceBytes).map { Array(bytes[$0..<min($0 + pieceBytes, bytes.count)]) }
        try await Self.run(.init(pieces: pieces)) { client, _ in
            let answer = try await Self.ask(client)
            #expect(answer.status == .ok)
            #expect(answer.header("x-switchyard-path") == "fast")
            let read = FastPathLiveTests.read(answer)
            #expect(read.text == "alpha beta gamma" && read.done)
            #expect(read.usage?["prompt_tokens"] == 9 && read.usage?["completion_tokens"] == 3)
            // 9 × $1/M + 3 × $2/M.
            #expect(abs((read.extensionObject?["cost_usd"]?.doubleValue ?? 0) - 0.000015) < 1e-12)
            // The upstream's usage chunk is not passed on: the gateway's, with cost, is the only one.
            #expect(answer.events.filter { $0.data.contains(#""usage":{"#) }.count == 1)
            let record = try await Self.record(client, answer)
            #expect(record?["completion_tokens"] == 3 && record?["usage_estimated"] == false && record?["stream"] == true)
        }
    }

    @Test func framingVariantsAndUsageOnAChunkWithChoices() async throws {
        // CRLF line ends, comments, `data:` without its space, and usage riding on the finishing chunk.
        let stream = [
            ": keep-alive\r\n\r\n", Self.role.replacingOccurrences(of: "\n", with: "\r\n"),
            "data:" + String(Self.chunk(#"{"content":"one"}"#).dropFirst(5)),
            Self.chunk("{}", finish: "stop", usage: #"{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}"#), "data: [DONE]\n\n",
        ]
        try await Self.run(.init(pieces: stream.map { Array($0.utf8) })) { client, _ in
            let answer = try await Self.ask(client, includeUsage: false)
            #expect(answer.status == .ok && answer.header("x-switchyard-path") == "fast")
            let read = FastPathLiveTests.read(answer)
            #expect(read.text == "one" && read.done)
            // Without include_usage the client sees no usage at all: the finishing chunk's is nulled, and no usage chunk follows.
            #expect(read.usage == nil)
            #expect(answer.events.contains { JSONValue.parse($0.data)?["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
            let record = try await Self.record(client, answer)
            #expect(record?["prompt_tokens"] == 4 && record?["completion_tokens"] == 1)
        }
    }

    @Test func implausibleUsageIsEstimatedNotTrusted() async throws {
        var stream = Self.good
        stream[5] = Self.chunk("", usage: #"{"prompt_tokens":1e300,"completion_tokens":-5,"total_tokens":3}"#, choices: "[]")
        try await Self.run(.init(pieces: stream.map { Array($0.utf8) })) { client, _ in
            let answer = try await Self.ask(client)
            #expect(answer.status == .ok)
            let read = FastPathLiveTests.read(answer)
            #expect(read.text == "alpha beta gamma")
            #expect(read.extensionObject?["usage_estimated"] == true)
            let record = try await Self.record(client, answer)
            #expect(record?["usage_estimated"] == true)
            #expect((record?["completion_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test func anErrorBeforeOutputIsAnErrorResponseNotAStream() async throws {
        let stream = [Self.role, #"data: {"error": {"message": "overloaded", "type": "server_error"}}"# + "\n\n"]
        try await Self.run(.init(pieces: stream.map { Array($0.utf8) })) { client, upstream in
            let answer = try await Self.ask(client)
            // Nothing was streamed: the failed fast attempt went to the full path as the plan's first (and only) attempt,
            // so the client gets an error response in OpenAI's envelope, not a 200 stream — and no second call.
            #expect(answer.status == .badGateway, "\(answer.text)")
            #expect(answer.json?["error"]?["message"]?.stringValue?.contains("overloaded") == true)
            #expect(upstream.requests.withLock { $0 } == 1)
        }
    }

    @Test(arguments: ["error", "cut", "garbage"])
    func aFailureAfterOutputEndsWithOpenAIsErrorEvent(kind: String) async throws {
        var stream = [Self.role, Self.chunk(#"{"content":"partial"}"#)]
        switch kind {
        case "error": stream.append(#"data: {"error": {"message": "went away"}}"# + "\n\n")
        case "garbage": stream.append("data: {not json\n\n")
        default: break
        }
        try await Self.run(.init(pieces: stream.map { Array($0.utf8) }, gap: .milliseconds(20), cutAtEnd: kind == "cut")) { client, upstream in
            let answer = try await Self.ask(client)
            #expect(answer.status == .ok)
            #expect(FastPathLiveTests.read(answer).text == "partial")
            let last = try #require(answer.events.last)
            #expect(JSONValue.parse(last.data)?["error"]?["message"] != nil, "\(answer.text)")
            #expect(!answer.events.contains { $0.data == "[DONE]" })
            // Past the first output there is no retry behind the client's back.
            #expect(upstream.requests.withLock { $0 } == 1)
            let record = try await Self.record(client, answer)
            #expect(record?["error"]?.stringValue != nil && record?["stream"] == true)
        }
    }

    @Test func aStreamThatStopsIsCutAfterTheProvidersTimeoutBetweenBytes() async throws {
        // Text, then silence with the connection open: the provider's timeout (5 s, the other live tests' value: a loaded
        // test process can stall for seconds) counts from the last byte, as the full path's read timeout does, so a
        // stream of chunks 100 ms apart that lasts longer (6 s) is never cut.
        let paced = [Self.role] + (0..<60).map { Self.chunk(#"{"content":"p\#($0) "}"#) } + [Self.chunk("{}", finish: "stop"), "data: [DONE]\n\n"]
        try await Self.run(.init(pieces: paced.map { Array($0.utf8) }, gap: .milliseconds(100)), timeoutMs: 5000) { client, upstream in
            let steady = try await Self.ask(client)
            let expected = (0..<60).map { "p\($0) " }.joined()
            #expect(FastPathLiveTests.read(steady).text == expected && FastPathLiveTests.read(steady).done, "\(steady.text)")
            upstream.set(.init(pieces: [Self.role, Self.chunk(#"{"content":"partial"}"#)].map { Array($0.utf8) }, hangAtEnd: true))
            let started = ContinuousClock.now
            let stalled = try await Self.ask(client)
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(stalled.status == .ok)
            #expect(FastPathLiveTests.read(stalled).text == "partial")
            let last = try #require(stalled.events.last)
            #expect(JSONValue.parse(last.data)?["error"]?["message"]?.stringValue?.contains("'scripted'") == true, "\(stalled.text)")
            #expect(!stalled.events.contains { $0.data == "[DONE]" })
        }
    }

    @Test func anEventWithInvalidUTF8IsDecodedAsOnTheFullPathNotPassedOn() async throws {
        var stream = Self.good
        stream[2] = Self.chunk(#"{"content":" b\#u{FFFD}ta"}"#).replacingOccurrences(of: "\u{FFFD}", with: "@")
        var bytes = Array(stream.joined().utf8)
        // The `@` becomes a lone continuation byte: not UTF-8.
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")) { bytes[at] = 0xBF }
        try await Self.run(.init(pieces: [bytes])) { client, _ in
            let answer = try await Self.ask(client)
            #expect(answer.status == .ok && answer.header("x-switchyard-path") == "fast")
            // Whatever the decoder made of the byte, the client gets well-formed UTF-8 and the rest of the text.
            #expect(String(validatingUTF8: Array(answer.body.readableBytesView).map { CChar(bitPattern: $0) } + [0]) != nil)
            let read = FastPathLiveTests.read(answer)
            #expect(read.text.hasPrefix("alpha b") && read.text.hasSuffix("ta gamma") && read.done, "\(read.text)")
        }
    }

    static let hostileEvents: [String: String] = [
        "deep nesting": #"{"id":"x","choices":[{"index":0,"delta":{"content":"d"},"extra":"# + String(repeating: "[", count: 20_000)
            + String(repeating: "]", count: 20_000) + "}]}",
        "a 1 MB string": Self.chunk(#"{"content":""# + String(repeating: "m", count: 1 << 20) + #""}"#).dropFirst(6).dropLast(2).description,
        "usage 1e309": #"{"id":"x","choices":[],"usage":{"prompt_tokens":1e309,"completion_tokens":1e309}}"#,
        "usage a string": #"{"id":"x","choices":[],"usage":"lots"}"#,
        "choices an object": #"{"id":"x","choices":{"0":{"delta":{"content":"c"}}}}"#,
        "delta a number": #"{"id":"x","choices":[{"index":0,"delta":-1}]}"#,
        "content a number": #"{"id":"x","choices":[{"index":0,"delta":{"content":1e300}}]}"#,
        "a 4 MB event": #"{"id":"x","choices":[{"index":0,"delta":{"content":""# + String(repeating: "z", count: 4 << 20) + #""}}]}"#,
    ]

    @Test(arguments: Array(hostileEvents.keys).sorted())
    func hostileEventsAfterOutputEndTheStreamCleanly(name: String) async throws {
        // After the first text, one hostile event: the client gets a well-framed stream that ends with `[DONE]` or an
        // error event, never a crash, a hang or a cut connection; and the gateway serves the next stream.
        let stream = [Self.role, Self.chunk(#"{"content":"first"}"#), "data: " + Self.hostileEvents[name]! + "\n\n",
                      Self.chunk("{}", finish: "stop"), Self.usageChunk, "data: [DONE]\n\n"]
        try await Self.run(.init(pieces: stream.map { Array($0.utf8) })) { client, upstream in
            let answer = try await Self.ask(client)
            #expect(answer.status == .ok, "\(name)")
            let read = FastPathLiveTests.read(answer)
            #expect(read.text.hasPrefix("first"), "\(name)")
            let last = answer.events.last?.data ?? ""
            #expect(last == "[DONE]" || JSONValue.parse(last)?["error"]?["message"] != nil, "\(name): \(last.prefix(200))")
            if last == "[DONE]" {
                // A usage it could not read is estimated, never trusted.
                #expect(read.usage?["prompt_tokens"]?.intValue.map { $0 >= 0 && $0 < 1_000_000_000 } == true, "\(name)")
            }
            upstream.set(.init(pieces: Self.good.map { Array($0.utf8) }))
            #expect(FastPathLiveTests.read(try await Self.ask(client)).text == "alpha beta gamma", "\(name)")
        }
    }

    @Test func anEndlessPreambleIsCutAndTheGatewayStaysUp() async throws {
        // Over 4 MiB of chunks that carry no output: the fast path stops holding them and hands the request over.
        let stream = [String](repeating: Self.role, count: 4 * 1024 * 1024 / Self.role.utf8.count + 100)
        try await Self.run(.init(pieces: [Array(stream.joined().utf8), Array("data: [DONE]\n\n".utf8)])) { client, upstream in
            let answer = try await Self.ask(client)
            #expect(answer.status == .badGateway, "\(answer.text.prefix(300))")
            #expect(answer.json?["error"]?["message"]?.stringValue?.contains("without any output") == true)
            #expect(upstream.requests.withLock { $0 } == 1)
            upstream.set(.init(pieces: Self.good.map { Array($0.utf8) }))
            let next = try await Self.ask(client)
            #expect(next.status == .ok && FastPathLiveTests.read(next).text == "alpha beta gamma")
        }
    }

    @Test func aClientThatLeavesMidStreamIsBookedAndTheUpstreamLetGo() async throws {
        // Ten chunks 100 ms apart; the client reads the first text and hangs up.
        var stream = [Self.role] + (0..<10).map { Self.chunk(#"{"content":"w\#($0) "}"#) }
        stream += [Self.chunk("{}", finish: "stop"), Self.usageChunk, "data: [DONE]\n\n"]
        try await Self.run(.init(pieces: stream.map { Array($0.utf8) }, gap: .milliseconds(100))) { client, upstream in
            let port = try #require(client.port)
            let head = try Self.readUntilFirstText(port: port)
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            #expect(head.lowercased().contains("x-switchyard-path: fast"))
            let id = try #require(head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-switchyard-request-id:") }?
                .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces))
            // The record is written when the gateway sees the client go, long before the upstream's second second.
            var record: JSONValue?
            for _ in 0..<50 {
                record = try await client.get("/v1/switchyard/requests/\(id)", key: nil).json
                if record?["error"] != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(record?["error"]?.stringValue != nil, "\(String(describing: record))")
            #expect(record?["stream"] == true)
            #expect(upstream.requests.withLock { $0 } == 1)
            // The gateway serves the next stream normally.
            upstream.set(.init(pieces: Self.good.map { Array($0.utf8) }))
            let next = try await Self.ask(client)
            #expect(FastPathLiveTests.read(next).text == "alpha beta gamma")
        }
    }

    /// Sends a streamed request over a plain socket, reads until the first text chunk, and closes.
    static func readUntilFirstText(port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CancellationError() }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CancellationError() }
        let body = #"{"model": "s", "stream": true, "messages": [{"role": "user", "content": "hi"}]}"#
        let request = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains("w0 ") {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func aPlainJSONAnswerToAStreamIsNotPassedOffAsOne() async throws {
        let body = #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]}"#
        try await Self.run(.init(contentType: "application/json", pieces: [Array(body.utf8)])) { client, _ in
            let answer = try await Self.ask(client)
            // Neither path serves a stream request a JSON body as if it were one.
            #expect(answer.status == .badGateway, "\(answer.text)")
            #expect(answer.json?["error"] != nil)
        }
    }
}
