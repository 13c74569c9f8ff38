import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import Synchronization

/// A real HTTP server that speaks the OpenAI, Anthropic, Gemini and Ollama wire protocols, answering
/// as scripted by `[[directives]]` in the last user message or by faults set per model.
///
/// OpenAI at `/v1`, Anthropic at `/v1/messages`, Gemini at `/v1beta/models/{model}:{action}`, Ollama
/// at `/api`. `GET|DELETE /_mock/requests` and `GET|POST|DELETE /_mock/faults` inspect and steer it.
///
/// Anthropic's `POST /v1/messages/count_tokens` answers the prompt tokens its chat answer would
/// report, and refuses fields the real endpoint refuses (`max_tokens`, `stream`).
///
/// Directives: `[[reply: TEXT]]`, `[[tool: NAME {json}]]` (repeatable), `[[json]]`, `[[error: STATUS]]`
/// (`[[error: 429 retry-after=2]]`), `[[delay: MS]]`, `[[chunk-delay: MS]]`, `[[disconnect-after: N]]`,
/// `[[malformed]]`, `[[hang]]`, `[[usage: none]]`, `[[cached: N]]`, `[[stop: length]]`.
public final class MockUpstream: Sendable {
    struct State {
        var recorded: [MockRecordedRequest] = []
        var faults: [String: (fault: String, remaining: Int)] = [:]
        var serial = 0
        /// Responses API conversations by response id (JSON of their items), for `previous_response_id`.
        var conversations: [String: Data] = [:]
    }

    let configuration: MockUpstreamConfiguration
    let state = Mutex(State())
    /// Rendered streams by answer, with `configuration.replayStreams` (at most 256; emptied when full).
    let replayedStreams = Mutex<[String: [String]]>([:])
    private let boundPort = Mutex<Int?>(nil)
    private let running = Mutex<(task: Task<Void, any Error>, group: ServiceGroup)?>(nil)

    init(configuration: MockUpstreamConfiguration) {
        self.configuration = configuration
    }

    /// The port it listens on (the bound one when the configuration asked for port 0).
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
        let group = serviceGroup(app, signals: [], logger: logger)
        // The server runs until `stop()` shuts the group down; the handle is kept so nothing is left behind.
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        mock.running.withLock { $0 = (task, group) }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // The server ended before it listened: report why.
            do { try await task.value } catch {
                throw MockUpstreamError(message: "the mock upstream could not start on \(configuration.host):\(configuration.port): \(error)")
            }
            throw MockUpstreamError(message: "the mock upstream could not start on \(configuration.host):\(configuration.port)")
        }
        mock.boundPort.withLock { $0 = port }
        return mock
    }

    /// Runs until cancelled or until SIGINT/SIGTERM; `onListening` gets the bound port. Public as `runMockUpstream`.
    static func run(
        _ configuration: MockUpstreamConfiguration, logger: Logger = Logger(label: "switchyard.mock"),
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let mock = MockUpstream(configuration: configuration)
        let app = mock.application(logger: logger) { port in
            mock.boundPort.withLock { $0 = port }
            onListening(port)
        }
        try await serviceGroup(app, signals: [.sigterm, .sigint], logger: logger).run()
    }

    /// Stops the server: in-flight answers get up to two seconds (scripted pauses and hangs end at
    /// once), then the rest is cancelled. The port is closed when this returns.
    public func stop() async {
        guard let (task, group) = running.withLock({ $0 }) else { return }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    static func serviceGroup(_ app: some ApplicationProtocol, signals: [UnixSignal], logger: Logger) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(2)
        return ServiceGroup(configuration: configuration)
    }

    public func recordedRequests() async -> [MockRecordedRequest] { state.withLock { $0.recorded } }
    public func clearRecordedRequests() async { state.withLock { $0.recorded.removeAll() } }

    /// Applies `fault` (directive text, e.g. `error: 500`) to the next `count` requests for `model`; -1 = until cleared.
    public func setFault(model: String, fault: String, count: Int) async {
        state.withLock { $0.faults[model] = count == 0 ? nil : (fault, count) }
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

    func storeConversation(_ id: String, _ items: [[String: Any]]) {
        let data = JSONSerialization.bytes(items)
        state.withLock { state in
            if state.conversations.count > 10_000 { state.conversations.removeAll() }
            state.conversations[id] = data
        }
    }

    func storedConversation(_ id: String) -> [[String: Any]]? {
        guard let data = state.withLock({ $0.conversations[id] }) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]]
    }

    // MARK: Server

    func application(logger: Logger, onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.post("/v1/chat/completions") { request, context in try await self.chat(.openai, request) }
        router.post("/chat/completions") { request, context in try await self.chat(.openai, request) }
        router.post("/v1/responses") { request, context in try await self.responses(request) }
        router.post("/v1/messages") { request, context in try await self.chat(.anthropic, request) }
        router.post("/v1/messages/count_tokens") { request, context in try await self.countTokens(request) }
        router.post("/api/chat") { request, context in try await self.chat(.ollama, request) }
        // Gemini puts `model:action` in one path component; the router does not split it, so parse it here.
        router.post("/v1beta/models/**") { request, context in try await self.gemini(request, context.parameters.getCatchAll()) }
        router.post("/v1/models/**") { request, context in try await self.gemini(request, context.parameters.getCatchAll()) }
        router.get("/v1beta/models") { request, context in
            Self.json(200, JSONSerialization.bytes(["models": [[
                "name": "models/gemini-2.0-flash", "displayName": "Gemini 2.0 Flash (mock)", "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 8192, "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
            ], [
                "name": "models/text-embedding-004", "displayName": "Text Embedding 004 (mock)", "inputTokenLimit": 2048,
                "outputTokenLimit": 1, "supportedGenerationMethods": ["embedContent"],
            ]]]))
        }
        router.post("/v1/embeddings") { request, context in try await self.embed(.openai, request) }
        router.post("/embeddings") { request, context in try await self.embed(.openai, request) }
        router.post("/api/embed") { request, context in try await self.embed(.ollama, request) }
        router.post("/api/embeddings") { request, context in try await self.embed(.ollama, request, legacy: true) }
        router.get("/api/version") { request, context in Self.json(200, JSONSerialization.bytes(["version": "0.12.0"])) }
        router.get("/v1/models") { request, context in
            Self.json(200, JSONSerialization.bytes(["object": "list", "data": [
                ["id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "system"],
                ["id": "text-embedding-3-small", "object": "model", "created": 1_705_948_997, "owned_by": "system"],
            ]]))
        }
        router.get("/api/tags") { request, context in
            Self.json(200, JSONSerialization.bytes(["models": [[
                "name": "llama3.2:latest", "model": "llama3.2:latest", "modified_at": "2025-01-01T00:00:00Z", "size": 2_019_393_189,
                "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                "details": [
                    "parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"], "parameter_size": "3.2B",
                    "quantization_level": "Q4_K_M",
                ] as [String: Any],
            ] as [String: Any]]]))
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
        router.get("/_mock/faults") { request, context in
            let faults = self.state.withLock { $0.faults }.map { ["model": $0.key, "fault": $0.value.fault, "count": $0.value.remaining] }
            return Self.json(200, JSONSerialization.bytes(faults))
        }
        router.delete("/_mock/faults") { request, context in
            self.state.withLock { $0.faults.removeAll() }
            return Response(status: .noContent)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchyard-mock", backlog: 4096),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    static func json(_ status: Int, _ data: Data, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for field in extra { headers.append(field) }
        return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    func record(_ protocolName: MockProtocol, _ request: Request, body: ByteBuffer) {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName.lowercased()
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
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
            if request.headers[.anthropicVersion] == nil {
                return Self.json(400, protocolName.errorBody(status: 400, message: "anthropic-version: header is required"))
            }
            guard let key = configuration.anthropicKey else { return nil }
            if request.headers[.xAPIKey] == key { return nil }
        case .gemini:
            guard let key = configuration.geminiKey else { return nil }
            if request.headers[.googAPIKey] == key || request.uri.queryParameters["key"].map(String.init) == key { return nil }
        case .ollama:
            return nil
        }
        return Self.json(401, protocolName.errorBody(status: 401, message: "Invalid API key (mock upstream)."))
    }
}

/// Runs the mock upstream until the task is cancelled or the process gets SIGINT/SIGTERM (for
/// `switchyard mock`). `onListening` is called with the bound port once it listens; nothing is printed.
public func runMockUpstream(
    configuration: MockUpstreamConfiguration = .init(), logger: Logger = Logger(label: "switchyard.mock"),
    onListening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws {
    try await MockUpstream.run(configuration, logger: logger, onListening: onListening)
}

struct MockUpstreamError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Header names the providers use (HTTPTypes' `HTTPField` is reached through Hummingbird's `HTTPFields`).
extension HTTPFields.Element.Name {
    static let anthropicVersion = Self("anthropic-version")!
    static let xAPIKey = Self("x-api-key")!
    static let googAPIKey = Self("x-goog-api-key")!
    static let retryAfter = Self("retry-after")!
    static let requestID = Self("request-id")!
    static let xRequestID = Self("x-request-id")!
}

extension HTTPResponse.Status {
    init(code: Int) { self.init(code: code, reasonPhrase: "") }
}
