import AsyncHTTPClient
import Foundation
import Instrumentation
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// The HTTP plumbing every adapter shares: building requests, checking statuses, mapping errors.
struct UpstreamHTTP: Sendable {
    let configuration: ProviderConfiguration
    let clients: UpstreamClients

    /// Largest non-streamed chat answer read into memory: far above any real completion (128k output
    /// tokens are about half a megabyte), small enough that decoding it stays well inside memory.
    static let maxChatBodyBytes = 16 * 1024 * 1024
    /// Embedding answers are larger (2,048 inputs × 3,072 floats as JSON text): 64 MiB.
    static let maxEmbeddingBodyBytes = 64 * 1024 * 1024
    /// Error bodies: only a message is read from them.
    static let maxErrorBodyBytes = 1024 * 1024

    /// The longest silence allowed while waiting for the response head or any later piece of the
    /// body: the provider's `timeout_ms`, enforced as the read timeout of its clients.
    var readTimeout: Duration { .milliseconds(configuration.timeoutMilliseconds) }

    func url(_ path: String, query extra: [String: String] = [:]) -> String {
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var url = base + path
        let query = configuration.query.merging(extra) { _, new in new }
        if !query.isEmpty {
            let encoded = query.sorted { $0.key < $1.key }.map { "\(escape($0.key))=\(escape($0.value))" }
            url += (url.contains("?") ? "&" : "?") + encoded.joined(separator: "&")
        }
        return url
    }

    private func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"])) ?? value
    }

    /// The pool this provider's calls go through: its read timeout and its connection limit.
    var pool: UpstreamClients.Pool {
        UpstreamClients.Pool(provider: configuration.name, readTimeout: readTimeout, maxConnections: configuration.maxConnections)
    }

    /// An answer whose head is in with a success status, and the call's hold on its connection: the caller
    /// ends `lease` once the body is read (or drops it).
    struct Answer {
        var response: HTTPClientResponse
        var lease: UpstreamLease
        var body: HTTPClientResponse.Body { response.body }
    }

    /// Sends a JSON POST and returns the response once its head is in, with a success status.
    func post(
        _ url: String, body: some Encodable, headers: [(String, String)], stream: Bool, options: CallOptions
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        for (name, value) in configuration.headers { request.headers.replaceOrAdd(name: name, value: value) }
        // The trace goes upstream as `traceparent` (the attempt's span is the parent). The clients' own tracing is
        // off: a second client span per call, with its URL parsed by Foundation, cost more than it told.
        if let context = ServiceContext.current { InstrumentationSystem.instrument.inject(context, into: &request.headers, using: HeadersInjector()) }
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw SwitchyardError.internal("Could not encode the request for provider '\(configuration.name)'.")
        }
        request.body = .bytes(ByteBuffer(bytes: data))

        let lease = clients.acquire(pool)
        if lease.waited { warnWaiting(lease.load, logger: options.logger) }
        let response: HTTPClientResponse
        do {
            var timeout = Duration.milliseconds(configuration.timeoutMilliseconds)
            if let limit = options.timeout, limit < timeout { timeout = max(limit, .milliseconds(1)) }
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
            response = try await lease.client.execute(
                request, deadline: .now() + .nanoseconds(nanoseconds), logger: options.logger)
        } catch {
            lease.end()
            throw UpstreamErrors.map(error, configuration: configuration)
        }
        lease.answered(over: response.version)
        guard (200..<300).contains(Int(response.status.code)) else {
            let bytes = try? await response.body.collect(upTo: Self.maxErrorBodyBytes)
            lease.end()
            throw UpstreamErrors.status(
                Int(response.status.code), body: bytes, headers: response.headers, configuration: configuration)
        }
        return Answer(response: response, lease: lease)
    }

    /// A request found every connection of its pool taken: said at most once per 10 s per provider, with the
    /// limit and the way out (never a URL, a header or a key).
    private func warnWaiting(_ load: UpstreamLoad, logger: Logger) {
        guard load.shouldWarn(at: .now) else { return }
        let limit = configuration.maxConnections.map { "max_connections: \($0)" }
            ?? "the default of \(ProviderConfiguration.defaultConnectionsPerLoop) per event loop"
        logger.warning(
            "provider '\(configuration.name)': every connection is busy (\(load.connections) in all, \(limit)); requests wait for one. Raise max_connections if the upstream takes more.",
            metadata: ["switchyard.provider": .string(configuration.name), "switchyard.in_flight": .stringConvertible(load.inFlight)])
    }

    /// Opens the provider's `prewarm_connections` with `GET path` (a harmless read of its protocol) and the
    /// headers of a real call, at once; answers of any status count (the connection was opened).
    func prewarm(_ path: String, headers: [(String, String)]) async -> PrewarmOutcome {
        let count = configuration.prewarmConnections
        var headerFields = HTTPHeaders()
        headerFields.add(name: "accept", value: "application/json")
        for (name, value) in headers { headerFields.add(name: name, value: value) }
        for (name, value) in configuration.headers { headerFields.replaceOrAdd(name: name, value: value) }
        let fields = headerFields
        let url = url(path)
        let result = await clients.prewarm(
            pool, count: count, timeout: min(.milliseconds(configuration.timeoutMilliseconds), .seconds(10))
        ) {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers = fields
            return request
        }
        let failure = result.errors.first.map { error -> String in
            let mapped = UpstreamErrors.map(error, configuration: configuration)
            return (mapped as? SwitchyardError)?.message ?? configuration.redact(String(describing: mapped))
        }
        return PrewarmOutcome(provider: configuration.name, requested: count, answered: result.answered, failure: failure)
    }

    /// Sends a JSON POST and decodes the JSON answer.
    func postJSON<Response: Decodable>(
        _ url: String, body: some Encodable, headers: [(String, String)], as type: Response.Type, options: CallOptions,
        maxBytes: Int = UpstreamHTTP.maxChatBodyBytes
    ) async throws -> Response {
        let answer = try await post(url, body: body, headers: headers, stream: false, options: options)
        defer { answer.lease.end() }
        let response = answer.response
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw SwitchyardError(
                code: .badUpstreamResponse,
                message: "Provider '\(configuration.name)' sent an answer larger than \(maxBytes / (1024 * 1024)) MiB; it was not read.",
                status: 502)
        } catch {
            throw UpstreamErrors.map(error, configuration: configuration)
        }
        do {
            return try JSONDecoder().decode(Response.self, from: bytes)
        } catch {
            throw SwitchyardError(
                code: .badUpstreamResponse,
                message: "Provider '\(configuration.name)' sent a response that could not be read: \(Self.describe(error))",
                status: 502)
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "invalid body" }
        switch decoding {
        case .dataCorrupted(let context) where context.codingPath.isEmpty: return "not valid JSON"
        default: return SwitchyardError.decoding(decoding).message
        }
    }
}

/// Maps transport failures and upstream error statuses to `SwitchyardError`, never leaking secrets.
public enum UpstreamErrors {
    static func map(_ error: any Error, configuration: ProviderConfiguration) -> any Error {
        let mapped = map(error, provider: configuration.name)
        guard var failure = mapped as? SwitchyardError else { return mapped }
        failure.message = configuration.redact(failure.message)
        return failure
    }

    static func map(_ error: any Error, provider: String) -> any Error {
        if error is SwitchyardError || error is CancellationError { return error }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return SwitchyardError(
                    code: .upstreamTimeout, message: "Provider '\(provider)' did not answer in time.", status: 504)
            case .cancelled:
                return CancellationError()
            case .remoteConnectionClosed:
                return SwitchyardError(
                    code: .upstreamUnreachable, message: "Provider '\(provider)' closed the connection before answering.",
                    status: 502)
            default:
                break
            }
        }
        return SwitchyardError(
            code: .upstreamUnreachable, message: "Provider '\(provider)' could not be reached (\(String(describing: type(of: error))): \(String(describing: error).prefix(200))).",
            status: 502)
    }

    public static func status(
        _ status: Int, body: ByteBuffer?, headers: HTTPHeaders, configuration: ProviderConfiguration
    ) -> SwitchyardError {
        var detail = body.flatMap(message(from:)) ?? HTTPResponseStatus(statusCode: status).reasonPhrase
        detail = configuration.redact(String(detail.prefix(2000))).quotedPrefix(1000)
        // Upstream headers are hostile input: parsed and bounded here, passed on only as delta-seconds.
        let retryDelay = RetryAfter.parse(headers.first(name: "retry-after"), milliseconds: headers.first(name: "retry-after-ms"))
        let retryAfter = retryDelay.map(RetryAfter.headerValue)
        var failure: SwitchyardError
        switch status {
        case 401, 403:
            let missing = configuration.apiKey == nil
                ? " The gateway has no API key for it\(configuration.missingKeyHint.map { " (\($0))" } ?? ""): set it and restart."
                : ""
            return SwitchyardError(
                code: .upstream,
                message: "Provider '\(configuration.name)' rejected the gateway's credentials (HTTP \(status)): \(detail)\(missing)",
                status: 502)
        case 429:
            failure = SwitchyardError(
                code: .rateLimited, message: "Provider '\(configuration.name)' is rate limiting: \(detail)", status: 429,
                retryAfter: retryAfter)
        case 400..<600:
            failure = SwitchyardError(
                code: .upstream, message: "Provider '\(configuration.name)' returned HTTP \(status): \(detail)",
                status: status, retryAfter: retryAfter)
        default:
            // 1xx/3xx (a redirect the client did not follow) or a status outside HTTP's range: not
            // something to hand a client as is.
            failure = SwitchyardError(
                code: .badUpstreamResponse, message: "Provider '\(configuration.name)' answered with HTTP status \(status).",
                status: 502)
        }
        failure.retryDelay = retryDelay
        return failure
    }

    /// The human message inside any of the four providers' error envelopes.
    static func message(from body: ByteBuffer) -> String? {
        let data = Data(body.readableBytesView)
        guard let json = JSONValue.parse(data) else {
            let text = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            return text.isEmpty ? nil : String(text.prefix(300))
        }
        if let message = json["error"]?["message"]?.stringValue { return message }
        if let message = json["error"]?.stringValue { return message }
        if let message = json["message"]?.stringValue { return message }
        if let first = json.arrayValue?.first, let message = first["error"]?["message"]?.stringValue { return message }
        return nil
    }
}

extension SwitchyardError {
    public static func streamEndedEarly(provider: String) -> SwitchyardError {
        SwitchyardError(
            code: .badUpstreamResponse, message: "Provider '\(provider)' ended the stream before it was complete.",
            status: 502)
    }

    /// The provider's own error event in a stream.
    public static func midStream(provider: String, message: String) -> SwitchyardError {
        SwitchyardError(code: .upstream, message: "Provider '\(provider)' failed mid-stream: \(message)", status: 502)
    }

    public static func emptyStream(provider: String) -> SwitchyardError {
        SwitchyardError(code: .badUpstreamResponse, message: "Provider '\(provider)' sent an empty stream.", status: 502)
    }

    public static func streamEventTooLarge(provider: String, limit: Int) -> SwitchyardError {
        SwitchyardError(
            code: .badUpstreamResponse,
            message: "Provider '\(provider)' sent a stream event larger than \(limit / (1024 * 1024)) MiB; the stream was cut off.",
            status: 502)
    }

    public static func badStreamData(provider: String) -> SwitchyardError {
        SwitchyardError(
            code: .badUpstreamResponse, message: "Provider '\(provider)' sent stream data that is not valid JSON.",
            status: 502)
    }
}

/// Writes propagation headers (`traceparent`, `tracestate`) into an upstream request.
struct HeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
