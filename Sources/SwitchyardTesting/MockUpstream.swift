import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Settings of the mock upstream.
public struct MockUpstreamConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Keys the mock requires, per protocol (nil: any or none accepted).
    public var openAIKey: String?
    public var anthropicKey: String?
    public var geminiKey: String?
    /// Pause between stream chunks unless a request says otherwise.
    public var defaultChunkDelayMs: Int

    public init(
        host: String = "127.0.0.1", port: Int = 0, openAIKey: String? = nil, anthropicKey: String? = nil,
        geminiKey: String? = nil, defaultChunkDelayMs: Int = 0
    ) {
        self.host = host
        self.port = port
        self.openAIKey = openAIKey
        self.anthropicKey = anthropicKey
        self.geminiKey = geminiKey
        self.defaultChunkDelayMs = defaultChunkDelayMs
    }
}

/// One request the mock received.
public struct MockRecordedRequest: Sendable {
    public var protocolName: String
    public var method: String
    public var path: String
    public var query: String
    public var headers: [String: String]
    public var body: Data
}

/// A real HTTP server that speaks the OpenAI, Anthropic, Gemini and Ollama wire protocols, answering
/// as scripted by `[[directives]]` in the last user message or by faults set per model.
///
/// OpenAI at `/v1`, Anthropic at `/v1/messages`, Gemini at `/v1beta/models/{model}:{action}`, Ollama
/// at `/api`. `GET|DELETE /_mock/requests` and `POST|DELETE /_mock/faults` inspect and steer it.
public final class MockUpstream: Sendable {
    struct State {
        var recorded: [MockRecordedRequest] = []
        var faults: [String: (fault: String, remaining: Int)] = [:]
        var serial = 0
    }

    let configuration: MockUpstreamConfiguration
    let state = Mutex(State())
    private let boundPort = Mutex<Int?>(nil)
    private let runner = Mutex<Task<Void, any Error>?>(nil)

    init(configuration: MockUpstreamConfiguration) {
        self.configuration = configuration
    }

    /// The port it listens on.
    public var port: Int { boundPort.withLock { $0 } ?? configuration.port }
    /// `http://HOST:PORT`.
    public var baseURL: String { "http://\(configuration.host):\(port)" }

    /// Starts the mock and returns once it listens (port 0 picks a free port).
    public static func start(_ configuration: MockUpstreamConfiguration = .init(), logger: Logger = Logger(label: "switchyard.mock"))
        async throws -> MockUpstream
    {
        let mock = MockUpstream(configuration: configuration)
        let (ready, continuation) = AsyncStream<Int>.makeStream()
        let app = mock.application(logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        // The server runs until `stop()` cancels this task; the handle is kept so nothing is left behind.
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        mock.runner.withLock { $0 = task }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            throw MockUpstreamError(message: "the mock upstream could not start on \(configuration.host):\(configuration.port)")
        }
        mock.boundPort.withLock { $0 = port }
        return mock
    }

    /// Runs until cancelled (for `switchyard mock`); `onListening` gets the bound port.
    public static func run(
        _ configuration: MockUpstreamConfiguration, logger: Logger = Logger(label: "switchyard.mock"),
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let mock = MockUpstream(configuration: configuration)
        let app = mock.application(logger: logger) { port in
            mock.boundPort.withLock { $0 = port }
            onListening(port)
        }
        try await app.runService()
    }

    /// Stops the server; the port is closed when this returns.
    public func stop() async {
        guard let task = runner.withLock({ $0 }) else { return }
        task.cancel()
        _ = try? await task.value
    }

    public func recordedRequests() async -> [MockRecordedRequest] { state.withLock { $0.recorded } }
    public func clearRecordedRequests() async { state.withLock { $0.recorded.removeAll() } }

    /// Applies `fault` (directive text, e.g. `error: 500`) to the next `count` requests for `model`; -1 = until cleared.
    public func setFault(model: String, fault: String, count: Int) async {
        state.withLock { $0.faults[model] = (fault, count) }
    }

    public func clearFaults() async { state.withLock { $0.faults.removeAll() } }

    func takeFault(for model: String) -> String? {
        state.withLock { state in
            guard let entry = state.faults[model] else { return nil }
            if entry.remaining == 0 {
                state.faults[model] = nil
                return nil
            }
            if entry.remaining > 0 { state.faults[model] = (entry.fault, entry.remaining - 1) }
            return entry.fault
        }
    }

    func nextSerial() -> Int { state.withLock { $0.serial += 1; return $0.serial } }

    // MARK: Server

    func application(logger: Logger, onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.post("/v1/chat/completions") { request, context in try await self.chat(.openai, request) }
        router.post("/chat/completions") { request, context in try await self.chat(.openai, request) }
        router.post("/v1/messages") { request, context in try await self.chat(.anthropic, request) }
        router.post("/api/chat") { request, context in try await self.chat(.ollama, request) }
        router.post("/v1beta/models/{target}") { request, context in
            let target = context.parameters.get("target") ?? ""
            let (model, action) = target.split(separator: ":", maxSplits: 1).map(String.init).pair
            switch action {
            case "generateContent": return try await self.chat(.gemini, request, pathModel: model, streamAction: false)
            case "streamGenerateContent": return try await self.chat(.gemini, request, pathModel: model, streamAction: true)
            case "embedContent", "batchEmbedContents": return try await self.embed(.gemini, request, pathModel: model, batch: action == "batchEmbedContents")
            default: return Self.json(404, MockProtocol.gemini.errorBody(status: 404, message: "Unknown action '\(action)'."))
            }
        }
        router.post("/v1/embeddings") { request, context in try await self.embed(.openai, request) }
        router.post("/embeddings") { request, context in try await self.embed(.openai, request) }
        router.post("/api/embed") { request, context in try await self.embed(.ollama, request) }
        router.get("/v1/models") { request, context in
            Self.json(200, JSONSerialization.bytes(["object": "list", "data": [["id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "mock"]]]))
        }
        router.get("/api/tags") { request, context in
            Self.json(200, JSONSerialization.bytes(["models": [["name": "llama3.2", "model": "llama3.2", "size": 1]]]))
        }
        router.get("/_mock/requests") { request, context in
            let recorded = self.state.withLock { $0.recorded }.map { item -> [String: Any] in
                [
                    "protocol": item.protocolName, "method": item.method, "path": item.path, "query": item.query,
                    "headers": item.headers,
                    "body": (try? JSONSerialization.jsonObject(with: item.body, options: [.fragmentsAllowed])) ?? NSNull(),
                ]
            }
            return Self.json(200, JSONSerialization.bytes(recorded))
        }
        router.delete("/_mock/requests") { request, context in
            self.state.withLock { $0.recorded.removeAll() }
            return Response(status: .noContent)
        }
        router.post("/_mock/faults") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                let model = object["model"] as? String, let fault = object["fault"] as? String
            else { return Self.json(400, JSONSerialization.bytes(["error": "send {\"model\", \"fault\", \"count\"}"])) }
            await self.setFault(model: model, fault: fault, count: object["count"] as? Int ?? -1)
            return Response(status: .noContent)
        }
        router.delete("/_mock/faults") { request, context in
            self.state.withLock { $0.faults.removeAll() }
            return Response(status: .noContent)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchyard-mock"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    static func json(_ status: Int, _ data: Data, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for field in extra { headers.append(field) }
        return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    func record(_ protocolName: MockProtocol, _ request: Request, body: ByteBuffer) {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let item = MockRecordedRequest(
            protocolName: protocolName.rawValue, method: request.method.rawValue, path: request.uri.path,
            query: request.uri.query ?? "", headers: headers, body: Data(buffer: body))
        state.withLock { state in
            state.recorded.append(item)
            if state.recorded.count > 1000 { state.recorded.removeFirst(state.recorded.count - 1000) }
        }
    }

    /// Checks the protocol's auth header when a key is configured.
    func authFailure(_ protocolName: MockProtocol, _ request: Request) -> Response? {
        switch protocolName {
        case .openai:
            guard let key = configuration.openAIKey else { return nil }
            if request.headers[.authorization] == "Bearer \(key)" { return nil }
        case .anthropic:
            if request.headers[HTTPField.Name("anthropic-version")!] == nil {
                return Self.json(400, protocolName.errorBody(status: 400, message: "anthropic-version: header is required"))
            }
            guard let key = configuration.anthropicKey else { return nil }
            if request.headers[HTTPField.Name("x-api-key")!] == key { return nil }
        case .gemini:
            guard let key = configuration.geminiKey else { return nil }
            if request.headers[HTTPField.Name("x-goog-api-key")!] == key || request.uri.queryParameters["key"].map(String.init) == key { return nil }
        case .ollama:
            return nil
        }
        return Self.json(401, protocolName.errorBody(status: 401, message: "Invalid API key (mock upstream)."))
    }
}

struct MockUpstreamError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension Array where Element == String {
    var pair: (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}

extension HTTPResponse.Status {
    init(code: Int) { self.init(code: code, reasonPhrase: "") }
}
