import Foundation

/// An error a user can act on: what went wrong, which field or model it concerns, and the HTTP
/// status it maps to. The HTTP edge renders it in the client's own protocol envelope.
public struct SwitchyardError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case invalidRequest = "invalid_request"
        case authentication
        case permission
        case notFound = "not_found"
        /// The thing is not in a state that allows this (a 409: resuming a completed workflow run).
        case conflict
        case payloadTooLarge = "payload_too_large"
        case rateLimited = "rate_limited"
        /// A hard budget of the key or its team would be passed (a 429 with code `budget_exceeded`).
        case budgetExceeded = "budget_exceeded"
        case upstream
        case upstreamTimeout = "upstream_timeout"
        case upstreamUnreachable = "upstream_unreachable"
        case badUpstreamResponse = "bad_upstream_response"
        case configuration
        case `internal`
        /// A guardrail policy refused the request or ended the answer.
        case guardrailBlocked = "guardrail_blocked"
        /// A guardrail's detector could not run and the policy fails closed.
        case guardrailError = "guardrail_error"
        /// The answer did not match the request's JSON schema, even after the policy's re-asks.
        case guardrailSchemaFailed = "guardrail_schema_failed"
        /// The shared database (PostgreSQL replicas) cannot be reached for something that must not be
        /// decided without it (a hard budget): a 503, safe to retry.
        case storageUnavailable = "storage_unavailable"
    }

    public var code: Code
    public var message: String
    public var status: Int
    /// The request field the error is about, when there is one (`messages[0].role`).
    public var param: String?
    /// `retry-after` to pass on to the client (from an upstream 429/503), as checked delta-seconds.
    public var retryAfter: String?
    /// The upstream's wait hint, parsed and bounded (see `RetryAfter`): what the retry loop honours.
    public var retryDelay: Duration?
    /// The model asked for and the provider that failed, when known (for the response headers).
    public var model: String?
    public var provider: String?
    /// More response headers the error goes with (the `x-ratelimit-*` of a refused request).
    public var headers: [String: String] = [:]

    public init(code: Code, message: String, status: Int, param: String? = nil, retryAfter: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.param = param
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    public static func invalidRequest(_ message: String, param: String? = nil) -> SwitchyardError {
        SwitchyardError(code: .invalidRequest, message: message, status: 400, param: param)
    }

    public static func modelNotFound(_ model: String, available: [String] = []) -> SwitchyardError {
        var message = "The model '\(model.quotedPrefix(200))' does not exist on this gateway."
        if !available.isEmpty {
            message += " Available models: \(available.prefix(20).joined(separator: ", "))."
        }
        return SwitchyardError(code: .notFound, message: message, status: 404, param: "model")
    }

    public static func authentication(_ message: String) -> SwitchyardError {
        SwitchyardError(code: .authentication, message: message, status: 401)
    }

    public static func payloadTooLarge(limit: Int) -> SwitchyardError {
        SwitchyardError(
            code: .payloadTooLarge, message: "Request body is larger than the limit of \(limit) bytes.", status: 413)
    }

    public static func configuration(_ message: String) -> SwitchyardError {
        SwitchyardError(code: .configuration, message: message, status: 500)
    }

    public static func `internal`(_ message: String) -> SwitchyardError {
        SwitchyardError(code: .internal, message: message, status: 500)
    }

    /// True for failures worth trying again on another attempt or deployment (429, 5xx, timeouts, connection errors).
    public var isRetryable: Bool {
        switch code {
        case .rateLimited, .upstreamTimeout, .upstreamUnreachable, .badUpstreamResponse: return true
        case .upstream: return status == 408 || status == 409 || status == 429 || status >= 500
        default: return false
        }
    }
}

extension SwitchyardError {
    /// Turns a `DecodingError` into a message naming the JSON field, e.g. `messages[0].role`.
    public static func decoding(_ error: DecodingError) -> SwitchyardError {
        func path(_ codingPath: [any CodingKey]) -> String {
            var result = ""
            for key in codingPath {
                if let index = key.intValue {
                    result += "[\(index)]"
                } else if key.stringValue.hasPrefix("Index ") {
                    result += "[\(key.stringValue.dropFirst(6))]"
                } else {
                    result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return result
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .invalidRequest("Missing required field '\(field.quotedPrefix(200))'.", param: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .invalidRequest("Field '\(field.quotedPrefix(200))' has the wrong type: expected \(describe(type)).", param: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .invalidRequest("Field '\(field.quotedPrefix(200))' must not be null: expected \(describe(type)).", param: field)
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .invalidRequest("The request body is not valid JSON.")
            }
            let field = path(context.codingPath)
            // Foundation's description quotes the offending value: bounded, like every echo of client input.
            return .invalidRequest("Field '\(field.quotedPrefix(200))' is invalid: \(context.debugDescription.quotedPrefix(200))", param: field)
        @unknown default:
            return .invalidRequest("The request body could not be read.")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") || name.hasPrefix("KeyedDecodingContainer") { return "an object" }
            if name.contains("Role") { return "one of system, developer, user, assistant, tool" }
            return "an object"
        }
    }
}
