import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

/// The request context every route gets: the authenticated caller, set by `AuthorizationMiddleware`.
public struct SwitchyardRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling (anonymous, with every permission, when the gateway has no keys).
    public var caller: Caller = .anonymous

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// What each endpoint needs: the one table of authorization. A path not listed needs a valid key
/// and nothing more (it is then a 404 or 405); `/health` needs nothing.
enum EndpointPolicy {
    struct Rule {
        var method: HTTPRequest.Method
        var pattern: [String]  // path segments; "*" matches one
        var permission: Permission
    }

    static let rules: [Rule] = [
        Rule(method: .post, pattern: ["v1", "chat", "completions"], permission: .useModels),
        Rule(method: .post, pattern: ["chat", "completions"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "messages"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "embeddings"], permission: .useModels),
        Rule(method: .post, pattern: ["embeddings"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "models"], permission: .useModels),
        Rule(method: .get, pattern: ["models"], permission: .useModels),
        Rule(method: .post, pattern: ["mcp"], permission: .useModels),
        // The Responses API (a stored response is further visible only to the key that made it).
        Rule(method: .post, pattern: ["v1", "responses"], permission: .useModels),
        Rule(method: .post, pattern: ["responses"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "responses", "*"], permission: .useModels),
        Rule(method: .get, pattern: ["responses", "*"], permission: .useModels),
        Rule(method: .delete, pattern: ["v1", "responses", "*"], permission: .useModels),
        Rule(method: .delete, pattern: ["responses", "*"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "responses", "*", "input_items"], permission: .useModels),
        Rule(method: .get, pattern: ["responses", "*", "input_items"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "switchyard", "requests"], permission: .readRequestLog),
        Rule(method: .get, pattern: ["v1", "switchyard", "requests", "*"], permission: .readRequestLog),
        Rule(method: .get, pattern: ["v1", "switchyard", "cache", "stats"], permission: .readCache),
        Rule(method: .delete, pattern: ["v1", "switchyard", "cache"], permission: .clearCache),
        Rule(method: .get, pattern: ["v1", "switchyard", "collections"], permission: .readCollections),
        Rule(method: .get, pattern: ["v1", "switchyard", "collections", "*"], permission: .readCollections),
        Rule(method: .post, pattern: ["v1", "switchyard", "collections", "*", "search"], permission: .readCollections),
        Rule(method: .post, pattern: ["v1", "switchyard", "collections"], permission: .writeCollections),
        Rule(method: .delete, pattern: ["v1", "switchyard", "collections", "*"], permission: .writeCollections),
        Rule(method: .post, pattern: ["v1", "switchyard", "collections", "*", "documents"], permission: .writeCollections),
        Rule(method: .delete, pattern: ["v1", "switchyard", "collections", "*", "documents", "*"], permission: .writeCollections),
        Rule(method: .post, pattern: ["v1", "switchyard", "keys"], permission: .manageKeys),
        Rule(method: .get, pattern: ["v1", "switchyard", "keys"], permission: .manageKeys),
        Rule(method: .get, pattern: ["v1", "switchyard", "keys", "*"], permission: .manageKeys),
        Rule(method: .patch, pattern: ["v1", "switchyard", "keys", "*"], permission: .manageKeys),
        Rule(method: .delete, pattern: ["v1", "switchyard", "keys", "*"], permission: .manageKeys),
        Rule(method: .post, pattern: ["v1", "switchyard", "teams"], permission: .manageTeams),
        Rule(method: .get, pattern: ["v1", "switchyard", "teams"], permission: .readTeams),
        Rule(method: .patch, pattern: ["v1", "switchyard", "teams", "*"], permission: .manageTeams),
        Rule(method: .get, pattern: ["v1", "switchyard", "spend"], permission: .readSpend),
        Rule(method: .get, pattern: ["v1", "switchyard", "audit"], permission: .readAudit),
    ]

    /// The paths `SwitchyardServer.registerCompatibilityRoutes` adds: the model-serving endpoints
    /// without `/v1`, legacy completions, token counting and one model by id ("**": one or more
    /// segments, as ids such as `local/all-minilm-l6-v2` hold a slash).
    static let compatibilityRules: [Rule] = [
        Rule(method: .post, pattern: ["messages"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "completions"], permission: .useModels),
        Rule(method: .post, pattern: ["completions"], permission: .useModels),
        Rule(method: .post, pattern: ["v1", "messages", "count_tokens"], permission: .useModels),
        Rule(method: .post, pattern: ["messages", "count_tokens"], permission: .useModels),
        Rule(method: .get, pattern: ["v1", "models", "**"], permission: .useModels),
        Rule(method: .get, pattern: ["models", "**"], permission: .useModels),
    ]

    /// Every rule: the table above and those of features kept in their own files (batches, feedback).
    static let allRules: [Rule] = rules + batchRules + feedbackRules + workflowRules + dashboardRules + evalReportRules

    /// Paths anyone may fetch: the health check, and the dashboard's page and embedded assets (they
    /// hold no data; every call the page makes for data sends the key and meets the rules above).
    static let publicPaths: Set<String> = Set(["/health", "/ready"] + DashboardPage.publicPaths)

    /// The permission `method path` needs; nil when no rule lists it.
    static func permission(method: HTTPRequest.Method, path: String) -> Permission? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let matches = { (rule: Rule) in rule.method == method && Self.matches(rule.pattern, segments) }
        return (allRules.first(where: matches) ?? compatibilityRules.first(where: matches))?.permission
    }

    /// "*" matches one segment; a final "**" one or more.
    static func matches(_ pattern: [String], _ segments: [String]) -> Bool {
        if pattern.last == "**" {
            let fixed = pattern.dropLast()
            return segments.count > fixed.count && zip(fixed, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }
        return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
    }

    /// True for paths that speak the Anthropic protocol (errors in its envelope).
    static func isAnthropic(_ path: String) -> Bool {
        path.hasPrefix("/v1/messages") || path == "/messages" || path.hasPrefix("/messages/")
    }
}

/// Authenticates the key every request presents and checks the endpoint's permission, in one place,
/// answering a refusal in the envelope of the protocol the path speaks (401 for a missing, unknown,
/// revoked or expired key; 403 for a key without the permission).
struct AuthorizationMiddleware: RouterMiddleware {
    typealias Context = SwitchyardRequestContext
    let gateway: Gateway

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if EndpointPolicy.publicPaths.contains(path) { return try await next(request, context) }
        if path == "/metrics", let token = gateway.configuration.observability.metricsToken, let presented = request.presentedKey,
            Self.sameSecret(presented, token)
        {
            return try await next(request, context)
        }
        var context = context
        do {
            context.caller = try gateway.authenticate(request.presentedKey)
            if let permission = EndpointPolicy.permission(method: request.method, path: path), !context.caller.may(permission) {
                throw SwitchyardError(
                    code: .permission,
                    message: "The key '\(context.caller.name)' (\(context.caller.role.rawValue)) may not \(Self.describe(permission)).",
                    status: 403)
            }
        } catch {
            return Self.refusal(error, path: path)
        }
        return try await next(request, context)
    }

    /// Compares two secrets in time that depends only on their lengths.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<x.count { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func describe(_ permission: Permission) -> String {
        switch permission {
        case .useModels: return "use models"
        case .readRequestLog: return "read the request log"
        case .readCollections: return "read collections"
        case .writeCollections: return "create, change or delete collections (it needs `collections: write`)"
        case .readCache: return "read cache statistics (admins only)"
        case .readMetrics: return "read metrics (admins or the metrics token only)"
        case .clearCache: return "clear the cache (admins only)"
        case .manageKeys: return "manage keys (admins and team admins only)"
        case .readTeams: return "read teams"
        case .manageTeams: return "manage teams (admins only)"
        case .readSpend: return "read spend"
        case .readAudit: return "read the audit log (admins only)"
        case .giveFeedback: return "give feedback"
        case .readExperiments: return "read experiment reports (admins only)"
        case .readEvalReports: return "read eval reports (admins and team admins only)"
        case .publishEvalReports: return "upload or delete eval reports (admins only)"
        }
    }

    static func refusal(_ error: any Error, path: String) -> Response {
        if path == "/mcp" {
            let failure = ErrorResponses.normalize(error)
            var response = MCPRoute.failure(
                status: HTTPResponse.Status(code: failure.status), code: failure.status == 401 ? -32001 : -32003, failure.message)
            if failure.status == 401 { response.headers[.wwwAuthenticate] = "Bearer" }
            return response
        }
        let requestID = CallContext.newRequestID()
        return ErrorResponses.response(error, protocol: EndpointPolicy.isAnthropic(path) ? .anthropic : .openai, requestID: requestID)
    }
}
