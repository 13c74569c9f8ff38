import Foundation
import Logging
import MCP
import SwitchyardCore

/// A client of MCP's stateless revision (2026-07-28) over any transport: no `initialize`; every
/// request names the protocol version and the client's capabilities in `params._meta`; answers are
/// matched to requests by id. Used when `server/discover` says the server speaks the revision.
actor StatelessMCPSession {
    static let version = "2026-07-28"
    let transport: any Transport
    let logger: Logger
    private var nextID = 1
    private var pending: [Int: AsyncThrowingStream<JSONValue, any Error>.Continuation] = [:]
    private var reader: Task<Void, Never>?
    private var closed: (any Error)?

    init(transport: any Transport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    /// Starts reading answers; call once after the transport connected.
    func start() async {
        guard reader == nil else { return }
        let stream = await transport.receive()
        reader = Task { [weak self] in
            do {
                for try await data in stream {
                    await self?.receive(data)
                }
                await self?.close(ToolError(.unavailable, "The MCP server closed the connection."))
            } catch {
                await self?.close(ToolError(.unavailable, "The MCP connection failed: \(error)"))
            }
        }
    }

    func stop() {
        reader?.cancel()
        reader = nil
        close(ToolError(.unavailable, "The MCP session was stopped."))
    }

    static var meta: JSONValue {
        [
            "io.modelcontextprotocol/protocolVersion": .string(version),
            "io.modelcontextprotocol/clientCapabilities": [:],
            "io.modelcontextprotocol/clientInfo": ["name": "switchyard", "version": "1.0"],
        ]
    }

    /// Sends a request and waits for its answer's `result`; a JSON-RPC error is thrown as a
    /// `ToolError(.protocolError)` carrying its code and message.
    func request(_ method: String, params: [String: JSONValue] = [:], timeout: Duration) async throws -> JSONValue {
        if let closed { throw closed }
        let id = nextID
        nextID += 1
        var params = params
        // The session's own `_meta` (the protocol version), merged over what the caller sent.
        var meta = params["_meta"]?.objectValue ?? [:]
        for (key, value) in Self.meta.objectValue ?? [:] { meta[key] = value }
        params["_meta"] = .object(meta)
        let message: JSONValue = ["jsonrpc": "2.0", "id": .int(Int64(id)), "method": .string(method), "params": .object(params)]
        let data = Data(message.jsonString().utf8)
        // Registered before sending: an HTTP transport delivers the answer before `send` returns.
        let (answer, continuation) = AsyncThrowingStream<JSONValue, any Error>.makeStream()
        pending[id] = continuation
        do {
            try await transport.send(data)
        } catch {
            fail(id, error)
            throw error
        }
        do {
            return try await withThrowingTaskGroup(of: JSONValue.self) { group in
                group.addTask {
                    for try await result in answer { return result }
                    throw ToolError(.unavailable, "No answer to \(method).")
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw ToolError(.timeout, "The MCP server did not answer \(method) within \(timeout.milliseconds) ms.")
                }
                defer { group.cancelAll() }
                guard let result = try await group.next() else { throw ToolError(.unavailable, "No answer to \(method).") }
                return result
            }
        } catch {
            fail(id, error)
            throw error
        }
    }

    private func fail(_ id: Int, _ error: any Error) {
        pending.removeValue(forKey: id)?.finish(throwing: error)
    }

    private func receive(_ data: Data) {
        guard let message = JSONValue.parse(data), let number = message["id"]?.doubleValue, number.isFinite,
            let id = Int(exactly: number), let continuation = pending.removeValue(forKey: id)
        else { return }  // notifications and strays
        if let error = message["error"] {
            let code = error["code"]?.doubleValue.flatMap { Int(exactly: $0) } ?? 0
            continuation.finish(throwing: ToolError(
                .protocolError, "MCP error \(code): \(error["message"]?.stringValue ?? "(no message)")"))
        } else {
            continuation.yield(message["result"] ?? [:])
            continuation.finish()
        }
    }

    private func close(_ error: any Error) {
        if closed == nil { closed = error }
        let waiting = pending
        pending.removeAll()
        for continuation in waiting.values { continuation.finish(throwing: error) }
    }
}
