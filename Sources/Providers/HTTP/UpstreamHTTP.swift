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

    /// Sends a JSON POST and returns the response once its head is in, with a success status.
    func post(
        _ url: String, body: some Encodable, headers: [(String, String)], stream: Bool, options: CallOptions
    ) async throws -> HTTPClientResponse {
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

        let response: HTTPClientResponse
        do {
            var timeout = Duration.milliseconds(configuration.timeoutMilliseconds)
            if let limit = options.timeout, limit < timeout { timeout = max(limit, .milliseconds(1)) }
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
            response = try await clients.current(readTimeout: readTimeout).execute(
                request, deadline: .now() + .nanoseconds(nanoseconds), logger: options.logger)
        } catch {
            throw UpstreamErrors.map(error, configuration: configuration)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let bytes = try? await response.body.collect(upTo: Self.maxErrorBodyBytes)
            throw UpstreamErrors.status(
                Int(response.status.code), body: bytes, headers: response.headers, configuration: configuration)
        }
        return response
    }

    /// Sends a JSON POST and decodes the JSON answer.
    func postJSON<Response: Decodable>(
        _ url: String, body: some Encodable, headers: [(String, String)], as type: Response.Type, options: CallOptions,
        maxBytes: Int = UpstreamHTTP.maxChatBodyBytes
    ) async throws -> Response {
        let response = try await post(url, body: body, headers: headers, stream: false, options: options)
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
    static func streamEndedEarly(provider: String) -> SwitchyardError {
        SwitchyardError(
            code: .badUpstreamResponse, message: "Provider '\(provider)' ended the stream before it was complete.",
            status: 502)
    }

    static func badStreamData(provider: String) -> SwitchyardError {
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
