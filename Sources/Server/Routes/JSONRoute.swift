import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import SwitchyardCore

/// How Switchyard's own JSON APIs answer (collections, governance, feedback, workflows): the handler's
/// JSON with the request id and `cache-control: no-store` (these are live state, never to be cached
/// by a proxy), or the error in OpenAI's envelope.
enum JSONRoute {
    static func respond(
        _ request: Request, caller: Caller, maxBodyBytes: Int, status: HTTPResponse.Status = .ok,
        _ body: (CollectionsRoutes.Call) async throws -> JSONValue
    ) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let result = try await body(CollectionsRoutes.Call(request: request, caller: caller, maxBodyBytes: maxBodyBytes))
            var response = try JSONBody.response(result, headers: [.switchyardRequestID: requestID, .cacheControl: "no-store"])
            response.status = status
            return response
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }
}
