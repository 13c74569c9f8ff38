import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `/mcp`: Switchyard as an MCP server over Streamable HTTP (stateless: no session id, no
/// server-initiated stream). Serves the tools of every connected MCP server plus `chat`, filtered
/// by the caller's key on `tools/list` and on `tools/call`.
///
/// Two eras on one endpoint: the handshake revisions (2025-11-25, 2025-06-18: `initialize`, then
/// requests) and the stateless revision 2026-07-28 (no handshake; every request names its
/// version and capabilities in `params._meta`; `server/discover`; every result carries
/// `resultType`, list results `ttlMs` and `cacheScope`). A request is answered in the era its
/// `_meta` names.
struct MCPRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    /// Handshake protocol versions spoken; the newest is offered when a client asks for another.
    static let protocolVersions = ["2025-11-25", "2025-06-18"]
    /// Stateless protocol versions (per-request `_meta`, no `initialize`).
    static let statelessVersions = ["2026-07-28"]
    /// Every version `server/discover` lists, newest first.
    static var supportedVersions: [String] { statelessVersions + protocolVersions }
    /// Older versions accepted in the `MCP-Protocol-Version` header of later requests.
    static let acceptedHeaderVersions: Set<String> = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]
    static let protocolVersionHeader = HTTPField.Name("MCP-Protocol-Version")!
    static let methodHeader = HTTPField.Name("Mcp-Method")!
    static let metaVersionKey = "io.modelcontextprotocol/protocolVersion"
    static let serverInfo: JSONValue = ["name": "switchyard", "title": "Switchyard", "version": "0.1.0"]
    static let instructions =
        "Tools of the MCP servers Switchyard is connected to, and `chat` for a completion through any configured model or route."
    /// How long a client may cache `tools/list` and `server/discover` (they change when an MCP
    /// server's tools do, or the config is reloaded).
    static let listTTLMilliseconds: Int64 = 60_000

    enum Framing { case json, sse }

    func handle(_ request: Request, caller: Caller) async -> Response {
        // DNS rebinding: a browser page on another origin must not reach a local gateway.
        if let origin = request.headers[.origin], !Self.originAllowed(origin, allowed: gateway.configuration.mcp.allowedOrigins) {
            return Self.failure(status: .forbidden, code: -32600, "Origin '\(origin.quotedPrefix(200))' is not allowed to use this MCP endpoint.")
        }
        if let version = request.headers[Self.protocolVersionHeader], !Self.acceptedHeaderVersions.contains(version) {
            return Self.failure(
                status: .badRequest, code: -32022,
                "Unsupported MCP-Protocol-Version '\(version.quotedPrefix(40))'; supported: \(Self.supportedVersions.joined(separator: ", ")).",
                data: ["supported": .array(Self.supportedVersions.map { .string($0) }), "requested": .string(String(version.prefix(40)))])
        }
        let accept = (request.headers[.accept] ?? "*/*").lowercased()
        let acceptsJSON = accept.contains("application/json") || accept.contains("*/*") || accept.contains("application/*")
        let acceptsSSE = accept.contains("text/event-stream")
        guard acceptsJSON || acceptsSSE else {
            return Self.failure(status: .notAcceptable, code: -32600, "Accept must include application/json or text/event-stream.")
        }
        let framing: Framing = acceptsJSON ? .json : .sse
        let message: JSONValue
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            guard let parsed = JSONValue.parse(Data(body.readableBytesView)) else {
                return Self.failure(status: .badRequest, code: -32700, "The body is not valid JSON.")
            }
            message = parsed
        } catch {
            return Self.failure(status: .contentTooLarge, code: -32600, ErrorResponses.normalize(error).message)
        }
        guard let object = message.objectValue else {
            return Self.failure(
                status: .badRequest, code: -32600, "Send one JSON-RPC message per request (batches are not part of this protocol version).")
        }
        guard object["jsonrpc"]?.stringValue == "2.0" else {
            return Self.failure(status: .badRequest, code: -32600, "Not a JSON-RPC 2.0 message: `jsonrpc` must be \"2.0\".")
        }
        // Notifications and responses get no answer.
        guard let id = object["id"], object["method"] != nil else {
            return Response(status: .accepted)
        }
        let method = object["method"]?.stringValue ?? ""
        // The stateless revision: the version is in `_meta`, and must agree with the headers.
        let metaVersion = object["params"]?["_meta"]?[Self.metaVersionKey]
        var stateless = false
        if let metaVersion {
            guard let version = metaVersion.stringValue else {
                return Self.failure(status: .badRequest, code: -32602, "params._meta[\"\(Self.metaVersionKey)\"] must be a string.", id: id)
            }
            if let header = request.headers[Self.protocolVersionHeader], header != version {
                return Self.failure(
                    status: .badRequest, code: -32020,
                    "The MCP-Protocol-Version header ('\(header.quotedPrefix(40))') does not match params._meta (\(version.quotedPrefix(40))).", id: id)
            }
            if let header = request.headers[Self.methodHeader], header != method {
                return Self.failure(
                    status: .badRequest, code: -32020,
                    "The Mcp-Method header ('\(header.quotedPrefix(60))') does not match the method ('\(method.quotedPrefix(60))').", id: id)
            }
            guard Self.statelessVersions.contains(version) else {
                return Self.failure(
                    status: .badRequest, code: -32022, "Unsupported protocol version '\(version.quotedPrefix(40))'.", id: id,
                    data: ["supported": .array(Self.supportedVersions.map { .string($0) }), "requested": .string(version)])
            }
            stateless = true
        }
        let reply = await dispatch(method: method, params: object["params"], caller: caller)
        var envelope: [String: JSONValue] = ["jsonrpc": "2.0", "id": id]
        switch reply {
        case .success(let result):
            envelope["result"] = stateless || method == "server/discover" ? Self.statelessResult(result, method: method) : result
        case .failure(let error):
            envelope["error"] = ["code": .int(Int64(error.code)), "message": .string(error.message)]
        }
        return Self.respond(.object(envelope), framing: framing)
    }

    /// GET (a server-initiated stream) and DELETE (session end) are not offered: this endpoint is stateless.
    func methodNotAllowed(_ request: Request) -> Response {
        var response = Self.failure(status: .methodNotAllowed, code: -32600, "Use POST: this MCP endpoint keeps no sessions or streams.")
        response.headers[.allow] = "POST"
        return response
    }

    struct RPCError: Error {
        var code: Int
        var message: String
    }

    private func dispatch(method: String, params: JSONValue?, caller: Caller) async -> Result<JSONValue, RPCError> {
        switch method {
        case "server/discover":
            return .success([
                "supportedVersions": .array(Self.supportedVersions.map { .string($0) }),
                "capabilities": ["tools": ["listChanged": false]],
                "instructions": .string(Self.instructions),
            ])
        case "initialize":
            // 2026-07-28 has no handshake: a client asking for it in `initialize` gets the newest handshake version.
            let requested = params?["protocolVersion"]?.stringValue ?? ""
            let version = Self.protocolVersions.contains(requested) ? requested : Self.protocolVersions[0]
            return .success([
                "protocolVersion": .string(version),
                "capabilities": ["tools": ["listChanged": false]],
                "serverInfo": Self.serverInfo,
                "instructions": .string(Self.instructions),
            ])
        case "ping":
            return .success([:])
        case "tools/list":
            return .success(["tools": .array(gateway.servedTools(for: caller).map(\.mcpJSON))])
        case "tools/call":
            guard let name = params?["name"]?.stringValue else {
                return .failure(RPCError(code: -32602, message: "tools/call needs params.name (a string)."))
            }
            let arguments = params?["arguments"]
            if let arguments, arguments.objectValue == nil, arguments != .null {
                return .failure(RPCError(code: -32602, message: "params.arguments must be an object."))
            }
            let context = CallContext(caller: caller, logger: logger)
            do {
                return .success(try await gateway.callServedTool(name, arguments: arguments, context: context).mcpJSON)
            } catch let error as ToolError {
                switch error.code {
                case .unknownTool, .notAllowed, .invalidArguments:
                    return .failure(RPCError(code: -32602, message: error.message))
                case .unavailable, .timeout, .protocolError:
                    // The tool could not run: an execution error the client (or its model) can read.
                    return .success(ToolResult.text(error.message, isError: true).mcpJSON)
                }
            } catch {
                return .failure(RPCError(code: -32603, message: ErrorResponses.normalize(error).message))
            }
        default:
            return .failure(RPCError(code: -32601, message: "Method not found: \(method.quotedPrefix(100))"))
        }
    }

    /// A result in the stateless revision's shape: `resultType`, the server's identity in `_meta`,
    /// and for list and discovery results how long they may be cached (per key: `private`).
    static func statelessResult(_ result: JSONValue, method: String) -> JSONValue {
        guard case .object(var object) = result else { return result }
        object["resultType"] = "complete"
        var meta = object["_meta"]?.objectValue ?? [:]
        meta["io.modelcontextprotocol/serverInfo"] = serverInfo
        object["_meta"] = .object(meta)
        if method == "tools/list" || method == "server/discover" {
            object["ttlMs"] = .int(listTTLMilliseconds)
            object["cacheScope"] = "private"
        }
        return .object(object)
    }

    static func respond(_ message: JSONValue, framing: Framing) -> Response {
        switch framing {
        case .json:
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: message.jsonString())))
        case .sse:
            return Response(
                status: .ok, headers: SSE.headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: "event: message\ndata: \(message.jsonString())\n\n")))
        }
    }

    static func failure(status: HTTPResponse.Status, code: Int, _ message: String, id: JSONValue = .null, data: JSONValue? = nil) -> Response {
        var error: [String: JSONValue] = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { error["data"] = data }
        let body: JSONValue = ["jsonrpc": "2.0", "id": id, "error": .object(error)]
        return Response(
            status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body.jsonString())))
    }

    /// Loopback origins always; others only when listed in `mcp.allowed_origins`.
    static func originAllowed(_ origin: String, allowed: [String]) -> Bool {
        if allowed.contains(origin) || allowed.contains("*") { return true }
        guard let url = URL(string: origin), let host = url.host?.lowercased() else { return false }
        return ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host)
    }
}
