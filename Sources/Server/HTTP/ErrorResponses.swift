import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Renders errors in the envelope of the protocol the client speaks.
enum ErrorResponses {
    static func response(_ error: any Error, protocol clientProtocol: ClientProtocol, requestID: String) -> Response {
        let (status, headers, body) = parts(error, protocol: clientProtocol, requestID: requestID)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// The error's status, headers and body (the fast path writes them on its own channel).
    static func parts(_ error: any Error, protocol clientProtocol: ClientProtocol, requestID: String)
        -> (HTTPResponse.Status, HTTPFields, ByteBuffer)
    {
        var failure = normalize(error)
        // Whatever a message quotes (a field name, a value, an upstream's text), the answer stays short.
        failure.message = failure.message.quotedPrefix(2000)
        failure.param = failure.param.map { $0.quotedPrefix(200) }
        var headers: HTTPFields = [.contentType: "application/json", .switchyardRequestID: requestID]
        if let retryAfter = failure.retryAfter.flatMap(HeaderValue.bounded) { headers[.retryAfter] = retryAfter }
        // The model a client asked for is its own input: it goes back in a header only when it is
        // a short, printable name (a 1 MB name would make a response no client or proxy accepts).
        if let model = failure.model.flatMap(HeaderValue.bounded) { headers[.switchyardModel] = model }
        if let provider = failure.provider.flatMap(HeaderValue.bounded) { headers[.switchyardProvider] = provider }
        // Headers the gateway itself sets on an error (the rate-limit state of a 429).
        for (name, value) in failure.headers {
            if let field = HTTPField.Name(name), let value = HeaderValue.bounded(value) { headers[field] = value }
        }
        let body: Data
        switch clientProtocol {
        case .openai: body = openAIBody(failure)
        case .anthropic: body = anthropicBody(failure)
        }
        return (HTTPResponse.Status(code: failure.status), headers, ByteBuffer(bytes: body))
    }

    static func normalize(_ error: any Error) -> SwitchyardError {
        switch error {
        case let error as SwitchyardError:
            return error
        case let error as DecodingError:
            return SwitchyardError.decoding(error)
        case is NIOTooManyBytesError:
            return SwitchyardError.payloadTooLarge(limit: 0)
        case let error as HTTPParserError:
            // The client's framing is broken (a short body, a bad chunk size): its fault, not ours.
            return SwitchyardError.invalidRequest("The request could not be read as HTTP (\(error)).")
        case is CancellationError:
            return SwitchyardError(code: .internal, message: "The request was cancelled.", status: 499)
        default:
            return SwitchyardError.internal("Internal error: \(type(of: error)).")
        }
    }

    static func openAIType(status: Int) -> String {
        switch status {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "invalid_request_error"
        case 429: return "rate_limit_error"
        case 400..<500: return "invalid_request_error"
        default: return "api_error"
        }
    }

    static func openAICode(_ error: SwitchyardError) -> String {
        switch error.code {
        case .notFound: return error.param == nil || error.param == "model" ? "model_not_found" : "not_found"
        case .authentication: return "invalid_api_key"
        case .rateLimited: return "rate_limit_exceeded"
        case .budgetExceeded: return "budget_exceeded"
        default: return error.code.rawValue
        }
    }

    static func openAIBody(_ error: SwitchyardError) -> Data {
        let payload: JSONValue = [
            "error": [
                "message": .string(error.message), "type": .string(error.code == .budgetExceeded ? "insufficient_quota" : openAIType(status: error.status)),
                "param": error.param.map { .string($0) } ?? .null, "code": .string(openAICode(error)),
            ]
        ]
        return (try? JSONEncoder().encode(payload)) ?? Data()
    }

    static func anthropicBody(_ error: SwitchyardError) -> Data {
        (try? JSONEncoder().encode(
            Anthropic.ErrorBody(type: AnthropicErrorType.for(status: error.status), message: error.message, code: guardrailCode(error))))
            ?? Data()
    }

    /// The guardrail codes, which Anthropic's envelope carries in an extra `code` field (its `type`
    /// alone cannot tell a blocked request from any other bad one).
    static func guardrailCode(_ error: SwitchyardError) -> String? {
        switch error.code {
        case .guardrailBlocked, .guardrailError, .guardrailSchemaFailed: return error.code.rawValue
        default: return nil
        }
    }
}

extension HTTPResponse.Status {
    init(code: Int) {
        self.init(code: code, reasonPhrase: HTTPResponse.Status.reason(code))
    }

    static func reason(_ code: Int) -> String {
        switch code {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 499: return "Client Closed Request"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 529: return "Overloaded"
        default: return ""
        }
    }
}

/// Response header values that carry names from outside (a requested model, a route summary).
enum HeaderValue {
    static let maximumBytes = 512

    /// `value` when it is at most `maximumBytes` of visible ASCII (and spaces); nil otherwise.
    static func bounded(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= maximumBytes,
            value.utf8.allSatisfy({ (0x20...0x7E).contains($0) })
        else { return nil }
        return value
    }
}
