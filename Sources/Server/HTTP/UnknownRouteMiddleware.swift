import Foundation
import Hummingbird
import NIOCore

/// Answers requests for paths Switchyard does not serve with an OpenAI-style error body naming the
/// method and path (Anthropic's envelope under `/v1/messages`), instead of an empty 404 that SDKs
/// report as an unparseable error. A path that exists under another method gets a 405 the same way.
struct UnknownRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            guard error.body == nil || error.body?.isEmpty == true else { throw error }
            let message = "Switchyard does not serve \(request.method.rawValue) \(request.uri.path)."
            let body: String
            if EndpointPolicy.isAnthropic(request.uri.path) {
                body = #"{"type":"error","error":{"type":"not_found_error","message":\#(jsonString(message))}}"#
            } else {
                body = #"{"error":{"message":\#(jsonString(message)),"type":"invalid_request_error","param":null,"code":"unknown_url"}}"#
            }
            return Response(
                status: error.status, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
    }

    private func jsonString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
