import HTTPTypes
import Hummingbird
import Instrumentation
import NIOCore
import Tracing

/// A server span per request, continuing the client's W3C `traceparent`. Hummingbird's `TracingMiddleware` ends its
/// span in a closure run after the body is written, which turns every answer into a streamed body: a JSON answer
/// then went out through the channel's async writer in two writes instead of one with its head (+58 µs of CPU a
/// request, `perf` against the same run without tracing). Here an answer whose length is known ends its span when
/// the handler returns it (the write that follows takes microseconds); only streams keep theirs open until their
/// last byte.
struct ServerTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: FieldsExtractor())
        let span = InstrumentationSystem.tracer.startAnySpan("\(request.method.rawValue) \(request.uri.path.prefix(128))", context: parent, ofKind: .server)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.path"] = String(request.uri.path.prefix(2_048))
            if let agent = request.headers[.userAgent] { attributes["user_agent.original"] = String(agent.prefix(256)) }
        }
        do {
            var response = try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
            let route = context.endpointPath
            if let route { span.operationName = "\(request.method.rawValue) \(route)" }
            let status = Int(response.status.code)
            span.updateAttributes { attributes in
                attributes["http.route"] = route
                attributes["http.response.status_code"] = status
                attributes["http.response.body.size"] = response.body.contentLength
            }
            if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
            if response.body.contentLength != nil {
                span.end()
            } else {
                let ending = SpanEnder(span)
                let body = response.body
                response.body = ResponseBody { writer in
                    defer { ending.end() }
                    try await body.write(writer)
                }
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            span.updateAttributes { attributes in
                attributes["http.route"] = context.endpointPath
                attributes["http.response.status_code"] = status
            }
            if status >= 500 {
                span.setStatus(SpanStatus(code: .error))
                span.recordError(error)
            }
            span.end()
            throw error
        }
    }
}

/// Ends a span once, from the body's post-write closure (or when released unended: a client that went away).
private final class SpanEnder: @unchecked Sendable {
    private let span: any Span

    init(_ span: any Span) { self.span = span }

    func end() { span.end() }
}

private struct FieldsExtractor: Extractor {
    func extract(key: String, from headers: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        return headers[name]
    }
}
