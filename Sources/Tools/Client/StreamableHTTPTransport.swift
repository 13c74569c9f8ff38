import AsyncHTTPClient
import Foundation
import SwitchyardCore
import Logging
import MCP
import NIOCore
import NIOHTTP1

/// MCP's Streamable HTTP transport over AsyncHTTPClient. Each message is a POST; the answer is
/// either one JSON body or a `text/event-stream` whose events carry the response and any
/// notifications the server sends on the way. The session id the server assigns is sent back on
/// every later request. (The SDK's own HTTP transport cannot read SSE answers on Linux.)
public actor StreamableHTTPTransport: Transport {
    public nonisolated let logger: Logger
    let url: String
    let headers: [String: String]
    let httpClient: HTTPClient
    let timeout: Duration
    private(set) var sessionID: String?
    private var protocolVersion: String?
    /// Speaking the stateless revision: no session, and each POST names its method (and a tool
    /// call its tool) in headers, as that revision asks.
    private var stateless = false
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// Largest JSON answer accepted.
    static let maxBodyBytes = 16 * 1024 * 1024

    public init(url: String, headers: [String: String] = [:], httpClient: HTTPClient, timeout: Duration, logger: Logger) {
        self.url = url
        self.headers = headers
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    public func connect() async throws {}

    /// Switches to MCP's stateless revision (after `server/discover` said the server speaks it).
    func useStatelessRevision(_ version: String) {
        stateless = true
        protocolVersion = version
        sessionID = nil
    }

    public func disconnect() async {
        if let sessionID {
            // Tell the server the session is over; it may not support it (405), which is fine.
            var request = makeRequest(method: .DELETE)
            request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID)
            _ = try? await httpClient.execute(request, deadline: .now() + .seconds(2))
        }
        sessionID = nil
        continuation.finish()
    }

    public func send(_ data: Data) async throws {
        var request = makeRequest(method: .POST)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        if let sessionID { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID) }
        if let protocolVersion { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: protocolVersion) }
        if stateless, let message = JSONValue.parse(data), let method = message["method"]?.stringValue {
            request.headers.replaceOrAdd(name: "Mcp-Method", value: method)
            if method == "tools/call", let name = message["params"]?["name"]?.stringValue,
                name.utf8.count <= 256, name.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F })
            {
                request.headers.replaceOrAdd(name: "Mcp-Name", value: name)
            }
        }
        request.body = .bytes(ByteBuffer(bytes: data))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, deadline: .now() + .nanoseconds(Int64(timeout.milliseconds) * 1_000_000))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ToolError(.timeout, "The MCP server at \(url) did not answer within \(timeout.milliseconds) ms.")
        } catch {
            throw ToolError(.unavailable, "Could not reach the MCP server at \(url): \(error)")
        }
        if let session = response.headers.first(name: "Mcp-Session-Id") { sessionID = session }
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            if response.status == .notFound, sessionID != nil { sessionID = nil }  // session expired: next initialize starts anew
            throw ToolError(
                .unavailable, "The MCP server at \(url) answered HTTP \(response.status.code): \(body.prefix(300))")
        }
        if response.status == .accepted || response.status == .noContent { return }
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        if contentType.hasPrefix("text/event-stream") {
            // An event not closed by a blank line when the body ends is dropped, as the SSE standard says.
            var parser = EventStreamParser(format: .serverSentEvents)
            do {
                for try await buffer in response.body {
                    for event in try buffer.withUnsafeReadableBytes({ try parser.feed($0) })
                    where (event.event ?? "message") == "message" && !event.data.isEmpty {
                        deliver(Data(event.data.utf8))
                    }
                }
            } catch let error as EventTooLargeError {
                throw ToolError(
                    .unavailable, "The MCP server at \(url) sent an event larger than \(error.limit / (1024 * 1024)) MiB.")
            }
        } else {
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            let data = Data(body.readableBytesView)
            if !data.isEmpty { deliver(data) }
        }
    }

    public func receive() -> AsyncThrowingStream<Data, any Error> { messages }

    private func deliver(_ data: Data) {
        // The initialize answer fixes the protocol version every later request names in its header.
        if protocolVersion == nil,
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let result = object["result"] as? [String: Any], result["serverInfo"] != nil,
            let version = result["protocolVersion"] as? String
        {
            protocolVersion = version
        }
        continuation.yield(data)
    }

    private func makeRequest(method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }
}
