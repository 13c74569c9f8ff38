import AsyncHTTPClient
import Foundation
import Logging
import SwitchyardCore
import Testing
import Tools

#if canImport(Glibc)
import Glibc
#endif

/// The MCP peers `tests/mcp/setup.sh` installs into `.venv-mcp` (official reference servers and
/// the official Python SDK). Tests fail, not skip, when they are missing.
enum MCPPeers {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let venvBin = repository.appendingPathComponent(".venv-mcp/bin").path
    static let fixture = repository.appendingPathComponent("tests/mcp/fixture_server.py").path

    /// The path of an installed peer executable, or a failure saying how to install it.
    static func executable(_ name: String) throws -> String {
        let path = "\(venvBin)/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw PeerMissing(
                message: "MCP peer '\(name)' is missing at \(path). Run `bash tests/mcp/setup.sh` (scripts/test.sh does) to install the MCP peers from PyPI.")
        }
        return path
    }

    struct PeerMissing: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func stdio(_ name: String, command: String, _ arguments: [String] = [], prefix: MCPConfiguration.PrefixMode = .always, timeout: Duration = .seconds(20)) -> MCPConfiguration.Server {
        MCPConfiguration.Server(
            name: name, transport: .stdio(command: command, arguments: arguments, environment: [:], workingDirectory: nil),
            timeout: timeout, prefix: prefix)
    }

    /// Runs `body` with a started tool manager, then stops it.
    static func withManager(
        _ servers: [MCPConfiguration.Server], configure: (inout MCPConfiguration) -> Void = { _ in },
        _ body: @Sendable (ToolManager) async throws -> Void
    ) async throws {
        var configuration = MCPConfiguration()
        configuration.servers = servers
        configuration.restartDelay = .milliseconds(100)
        configure(&configuration)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let manager = ToolManager(configuration: configuration, httpClient: httpClient)
        let running = Task { try await manager.run() }
        let missing = await manager.waitUntilReady(timeout: .seconds(60))
        do {
            #expect(missing.isEmpty, "servers not ready: \(missing)")
            try await body(manager)
        } catch {
            running.cancel()
            _ = await running.result
            try? await httpClient.shutdown()
            throw error
        }
        running.cancel()
        _ = await running.result
        try await httpClient.shutdown()
    }

    /// Waits for a process to end without blocking a thread (Foundation's `waitUntilExit` spins a
    /// run loop on a cooperative thread on Linux, which can starve the test process).
    static func waitForExit(_ process: Process, timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// Stops a process: SIGTERM, then SIGKILL if it is still there after two seconds.
    static func stop(_ process: Process) async {
        guard process.isRunning else { return }
        process.terminate()
        await waitForExit(process, timeout: .seconds(2))
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)
        }
    }

    /// Runs `body`, then stops `process` whether `body` threw or not.
    static func stopping(_ process: Process, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await stop(process)
            throw error
        }
        await stop(process)
    }

    /// A free loopback TCP port.
    static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts the Python SDK fixture over Streamable HTTP; returns the process and its URL once it accepts connections.
    static func startHTTPFixture(mode: String, port: Int? = nil) async throws -> (Process, String) {
        let python = try executable("python")
        let port = port ?? freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = mode == "stateless" ? [fixture, "stateless-http", String(port)] : [fixture, "http", String(port), mode]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let url = "http://127.0.0.1:\(port)/mcp"
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if canConnect(port: port) { return (process, url) }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await stop(process)
        throw PeerMissing(message: "the Python MCP fixture did not start on port \(port)")
    }

    static func canConnect(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) }
        } == 0
    }
}
