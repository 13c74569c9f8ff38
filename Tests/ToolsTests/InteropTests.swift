import Foundation
import SwitchyardCore
import Testing
import Tools

/// Our client against MCP servers we did not write: the official reference servers over stdio and
/// a server built with the official Python SDK over Streamable HTTP (JSON and SSE answers).
@Suite("MCP client interop", .serialized)
struct InteropTests {
    @Test func timeServerOverStdio() async throws {
        let command = try MCPPeers.executable("mcp-server-time")
        try await MCPPeers.withManager([MCPPeers.stdio("time", command: command, ["--local-timezone", "UTC"])]) { manager in
            let names = manager.tools.map(\.name)
            #expect(names == ["time__convert_time", "time__get_current_time"])
            let result = try await manager.call("time__get_current_time", arguments: ["timezone": "Europe/Paris"])
            #expect(!result.isError)
            #expect(result.text.contains("Europe/Paris"))
            let year = Calendar(identifier: .gregorian).component(.year, from: Date())
            #expect(result.text.contains(String(year)))

            let converted = try await manager.call(
                "time__convert_time", arguments: ["source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"])
            #expect(converted.text.contains("21:00"))

            // The server reports a bad time zone as a tool error, not a protocol failure.
            let failed = try await manager.call("time__get_current_time", arguments: ["timezone": "Mars/Olympus_Mons"])
            #expect(failed.isError)
            #expect(failed.text.localizedCaseInsensitiveContains("timezone"))
        }
    }

    @Test func gitServerOverStdio() async throws {
        let command = try MCPPeers.executable("mcp-server-git")
        let repository = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-git-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: repository) }
        for arguments in [
            ["init", "-q"], ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first commit from the test"],
        ] {
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            git.arguments = arguments
            git.currentDirectoryURL = URL(fileURLWithPath: repository)
            try git.run()
            await MCPPeers.waitForExit(git)
            #expect(git.terminationStatus == 0)
        }
        try await MCPPeers.withManager([MCPPeers.stdio("git", command: command, ["--repository", repository])]) { manager in
            #expect(manager.tools.contains { $0.name == "git__git_log" })
            #expect(manager.tools.contains { $0.name == "git__git_status" })
            let log = try await manager.call("git__git_log", arguments: ["repo_path": .string(repository), "max_count": 5])
            #expect(!log.isError)
            #expect(log.text.contains("first commit from the test"))
        }
    }

    @Test(arguments: ["json", "sse"])
    func pythonSDKServerOverStreamableHTTP(mode: String) async throws {
        let (process, url) = try await MCPPeers.startHTTPFixture(mode: mode)
        let server = MCPConfiguration.Server(name: "fx", transport: .http(url: url, headers: ["X-Test": "1"]), timeout: .seconds(20))
        try await MCPPeers.stopping(process) { try await Self.exerciseHTTPServer(server) }
    }

    static func exerciseHTTPServer(_ server: MCPConfiguration.Server) async throws {
        try await MCPPeers.withManager([server]) { manager in
            #expect(manager.tools.map(\.name).contains("fx__add"))
            let sum = try await manager.call("fx__add", arguments: ["a": 2, "b": 40])
            #expect(sum.text == "42")
            let echo = try await manager.call("fx__echo", arguments: ["text": "héllo, wörld"])
            #expect(echo.text == "héllo, wörld")
            let failed = try await manager.call("fx__fail", arguments: ["reason": "boom"])
            #expect(failed.isError)
            #expect(failed.text.contains("boom"))
            // A deadline shorter than the tool: the call ends with a timeout, and the server stays usable.
            await #expect(throws: ToolError(.timeout, "The tool 'sleep' on MCP server 'fx' did not answer within 300 ms.")) {
                _ = try await manager.call("fx__sleep", arguments: ["seconds": 5], timeout: .milliseconds(300))
            }
            let after = try await manager.call("fx__add", arguments: ["a": 1, "b": 1])
            #expect(after.text == "2")
            // Calls run concurrently over one session.
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<8 {
                    group.addTask { try await manager.call("fx__add", arguments: ["a": .int(Int64(index)), "b": 100]).text }
                }
                var answers: Set<String> = []
                for try await answer in group { answers.insert(answer) }
                #expect(answers == Set((0..<8).map { String(100 + $0) }))
            }
        }
    }

    /// A server of MCP's stateless revision (2026-07-28) only: `initialize` is refused, every
    /// request must carry `_meta` and (over HTTP) matching `Mcp-Method`/`Mcp-Name` headers. The
    /// probe finds it, and tools are listed and called without a handshake.
    @Test func statelessOnlyServerOverHTTP() async throws {
        let (process, url) = try await MCPPeers.startHTTPFixture(mode: "stateless")
        let server = MCPConfiguration.Server(name: "st", transport: .http(url: url, headers: [:]), timeout: .seconds(20))
        try await MCPPeers.stopping(process) {
            try await MCPPeers.withManager([server]) { manager in
                #expect(manager.tools.map(\.name) == ["st__add", "st__echo", "st__revision"])
                let sum = try await manager.call("st__add", arguments: ["a": 20, "b": 22])
                #expect(sum.text == "42")
                let revision = try await manager.call("st__revision", arguments: [:])
                #expect(revision.text == "2026-07-28")
                let unknown = try? await manager.call("st__nope", arguments: [:])
                #expect(unknown == nil || unknown?.isError == true)
            }
        }
    }

    @Test func statelessOnlyServerOverStdio() async throws {
        let python = try MCPPeers.executable("python")
        try await MCPPeers.withManager([MCPPeers.stdio("st", command: python, [MCPPeers.fixture, "stateless-stdio"])]) { manager in
            #expect(manager.tools.map(\.name) == ["st__add", "st__echo", "st__revision"])
            let echo = try await manager.call("st__echo", arguments: ["text": "héllo"])
            #expect(echo.text == "héllo")
            let revision = try await manager.call("st__revision", arguments: [:])
            #expect(revision.text == "2026-07-28")
        }
    }

    /// `protocol: legacy` skips the probe; `protocol: stateless` refuses a handshake-only server.
    @Test func protocolModesAreHonoured() async throws {
        let (process, url) = try await MCPPeers.startHTTPFixture(mode: "json")
        try await MCPPeers.stopping(process) {
            var legacy = MCPConfiguration.Server(name: "fx", transport: .http(url: url, headers: [:]), timeout: .seconds(20))
            legacy.protocolMode = .legacy
            try await MCPPeers.withManager([legacy]) { manager in
                let sum = try await manager.call("fx__add", arguments: ["a": 1, "b": 2])
                #expect(sum.text == "3")
            }
        }
    }

    @Test func httpServerThatRestartsIsReconnected() async throws {
        let (first, url) = try await MCPPeers.startHTTPFixture(mode: "json")
        let port = Int(url.split(separator: ":").last!.split(separator: "/").first!)!
        let server = MCPConfiguration.Server(name: "fx", transport: .http(url: url, headers: [:]), timeout: .seconds(20))
        try await MCPPeers.withManager([server]) { manager in
            let before = try await manager.call("fx__pid", arguments: [:]).text
            await MCPPeers.stop(first)
            // The server is gone: the call fails at once instead of hanging.
            await #expect(throws: ToolError.self) { _ = try await manager.call("fx__pid", arguments: [:]) }
            let (second, _) = try await MCPPeers.startHTTPFixture(mode: "json", port: port)
            // Its session is gone with it; the manager connects anew (a new session) and the call goes through.
            let after = try await manager.call("fx__pid", arguments: [:], timeout: .seconds(20)).text
            #expect(after != before)
            #expect(after == String(second.processIdentifier))
            await MCPPeers.stop(second)
        }
        await MCPPeers.stop(first)
    }

    @Test func toolListChangedNotificationRefreshesTheCatalogue() async throws {
        let python = try MCPPeers.executable("python")
        try await MCPPeers.withManager([MCPPeers.stdio("fx", command: python, [MCPPeers.fixture, "stdio"])]) { manager in
            #expect(manager.tool(named: "fx__late") == nil)
            let answer = try await manager.call("fx__announce", arguments: [:])
            #expect(answer.text == "added late")
            let deadline = ContinuousClock.now + .seconds(10)
            while manager.tool(named: "fx__late") == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let late = try await manager.call("fx__late", arguments: [:])
            #expect(late.text == "late tool")
        }
    }

    @Test func stdioServerThatCrashesIsRestarted() async throws {
        let python = try MCPPeers.executable("python")
        try await MCPPeers.withManager([MCPPeers.stdio("fx", command: python, [MCPPeers.fixture, "stdio"])]) { manager in
            let before = try await manager.call("fx__pid", arguments: [:]).text
            #expect(await manager.processIdentifier(server: "fx").map(String.init) == before)
            // The process dies in the middle of this call: the caller gets an error, not a hang.
            await #expect(throws: ToolError.self) { _ = try await manager.call("fx__crash", arguments: [:], timeout: .seconds(10)) }
            // The next call waits for the restarted process.
            let after = try await manager.call("fx__pid", arguments: [:], timeout: .seconds(20)).text
            #expect(after != before)
            #expect(Int(after) != nil)
            let status = await manager.status()
            #expect(status.first?.state == "ready")
            #expect((status.first?.restarts ?? 0) >= 1)
        }
    }

    @Test func unknownCommandIsReportedNotHung() async throws {
        var configuration = MCPConfiguration()
        configuration.servers = [MCPPeers.stdio("nope", command: "switchyard-no-such-mcp-server")]
        let manager = ToolManager(configuration: configuration, httpClient: .shared)
        let running = Task { try await manager.run() }
        let missing = await manager.waitUntilReady(timeout: .seconds(2))
        #expect(missing["nope"]?.contains("not found on PATH") == true)
        await #expect(throws: ToolError.self) { _ = try await manager.call("nope__x", arguments: nil) }
        running.cancel()
        _ = await running.result
    }
}
