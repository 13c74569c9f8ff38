import Foundation
import Logging
import MCP
import SwitchyardCore
import Synchronization

/// MCP over stdio with a process Switchyard spawns: newline-delimited JSON-RPC on the child's
/// stdin/stdout, its stderr forwarded to the log. The SDK's `StdioTransport` takes ready file
/// descriptors; this one owns the process and reports when it exits.
public actor ProcessTransport: Transport {
    public nonisolated let logger: Logger
    let command: String
    let arguments: [String]
    let environment: [String: String]
    let workingDirectory: String?
    private var process: ChildProcess?
    private var input: FileHandle?
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// Who hears of the process's exit; replaceable (a probe's process may become the server's).
    private let exit: Mutex<@Sendable (Int32) -> Void>

    /// - Parameter onExit: called once, with the exit status, when the process ends for any reason.
    public init(
        command: String, arguments: [String], environment: [String: String] = [:], workingDirectory: String? = nil,
        logger: Logger, onExit: @escaping @Sendable (Int32) -> Void = { _ in }
    ) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logger = logger
        self.exit = Mutex(onExit)
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    /// The child's process id while it runs.
    /// Replaces who hears of the process's exit.
    func setOnExit(_ handler: @escaping @Sendable (Int32) -> Void) {
        exit.withLock { $0 = handler }
    }

    public var processIdentifier: Int32? { process?.isRunning == true ? process?.pid : nil }

    public func connect() async throws {
        guard process == nil else { return }
        let executable = try Self.locate(command, environment: environment)
        let continuation = self.continuation
        let name = command
        // The stream ends once the process has exited and its stdout is read to the end, so a server's last
        // message is not lost to the exit; a grandchild holding stdout open gets one second.
        let ending = Mutex<(status: Int32?, drained: Bool, done: Bool)>((nil, false, false))
        let end: @Sendable (_ status: Int32?, _ drained: Bool, _ force: Bool) -> Void = { status, drained, force in
            let finalStatus: Int32? = ending.withLock { state in
                if let status { state.status = status }
                if drained { state.drained = true }
                guard !state.done, let status = state.status, state.drained || force else { return nil }
                state.done = true
                return status
            }
            if let finalStatus {
                continuation.finish(throwing: ToolError(.unavailable, "The MCP server process '\(name)' exited (status \(finalStatus))."))
            }
        }
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(
                executable: executable.path, arguments: arguments, environment: Self.childEnvironment(configured: environment),
                workingDirectory: workingDirectory
            ) { [weak self] status in
                end(status, false, false)
                DispatchQueue.global().asyncAfter(deadline: .now() + 1) { end(nil, false, true) }
                self?.exit.withLock { $0 }(status)
            }
        } catch {
            throw ToolError(.unavailable, "Could not start the MCP server '\(command)': \(error)")
        }
        let lines = LineSplitter()
        let log = self.logger
        // Blocking reads on threads of their own, not `readabilityHandler`: on Linux its dispatch read source races
        // the descriptor's teardown and can crash the whole process in libdispatch's epoll bookkeeping
        // (swift-corelibs-libdispatch#949; seen here when an MCP server's pipes closed). A blocking read never
        // registers the descriptor with libdispatch.
        PipeReader.start(process.output, name: "switchyard-mcp-out") { data in
            for line in lines.feed(data) where !line.isEmpty { continuation.yield(line) }
            if lines.takeDiscarded() {
                log.warning("MCP server wrote a line over the size limit; it was dropped", metadata: ["switchyard.mcp.limit_bytes": "\(LineSplitter.maximumLineBytes)"])
            }
        } onEnd: {
            end(nil, true, false)
        }
        let errorLines = LineSplitter()
        PipeReader.start(process.errorOutput, name: "switchyard-mcp-err") { data in
            for line in errorLines.feed(data) where !line.isEmpty {
                log.debug("stderr", metadata: ["switchyard.mcp.stderr": .string(String(decoding: line.prefix(2000), as: UTF8.self))])
            }
        }
        self.process = process
        self.input = process.input
        logger.info("started MCP server process", metadata: ["switchyard.mcp.pid": "\(process.pid)"])
    }

    public func disconnect() async {
        guard let process else { return }
        try? input?.close()
        input = nil
        process.signal(SIGTERM)
        // A server that ignores SIGTERM gets SIGKILL after a grace period.
        for _ in 0..<20 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        process.signal(SIGKILL)
        continuation.finish()
        self.process = nil
    }

    public func send(_ data: Data) async throws {
        guard let input, process?.isRunning == true else {
            throw ToolError(.unavailable, "The MCP server process '\(command)' is not running.")
        }
        var line = data
        line.append(UInt8(ascii: "\n"))
        let command = self.command
        let bytes = line
        // A pipe write blocks while the child does not read: never on the caller's thread (an
        // event loop under `serve`). Writes of one transport stay in order (the actor awaits each).
        try await BlockingWork.run {
            do {
                try input.write(contentsOf: bytes)
            } catch {
                throw ToolError(.unavailable, "Could not write to the MCP server process '\(command)': \(error.localizedDescription)")
            }
        }
    }

    /// What a spawned MCP server sees: a minimal base from the gateway's own environment (`PATH`,
    /// `HOME`, `LANG`, `TZ`, and the locale and temp-dir variables programs need) plus the server's
    /// configured `env` — never the gateway's provider keys or other secrets.
    static func childEnvironment(configured: [String: String], parent: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var base: [String: String] = [:]
        for name in ["PATH", "HOME", "LANG", "TZ", "LC_ALL", "LC_CTYPE", "TMPDIR", "USER", "LOGNAME", "SHELL"] {
            if let value = parent[name] { base[name] = value }
        }
        return base.merging(configured) { _, configured in configured }
    }

    public func receive() -> AsyncThrowingStream<Data, any Error> { messages }

    /// The executable for a command: a path as given, or the first match on PATH (the configured
    /// environment's PATH first).
    static func locate(_ command: String, environment: [String: String]) throws -> URL {
        if command.contains("/") { return URL(fileURLWithPath: command) }
        let path = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw ToolError(.unavailable, "The MCP server command '\(command)' was not found on PATH.")
    }
}

/// Splits a byte stream into lines; called from the pipe's reader thread. A line longer than
/// `maximumLineBytes` is dropped (up to its newline) instead of growing the buffer without end.
final class LineSplitter: Sendable {
    /// 16 MiB: a JSON-RPC message this large is not a tool result a model could use.
    static let maximumLineBytes = 16 * 1024 * 1024

    private struct State {
        var buffer = Data()
        /// Inside an over-long line: bytes are skipped until its newline.
        var discarding = false
        var discarded = false
    }
    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int = LineSplitter.maximumLineBytes) {
        self.limit = limit
    }

    func feed(_ data: Data) -> [Data] {
        state.withLock { state in
            var lines: [Data] = []
            var rest = data[...]
            while !rest.isEmpty {
                guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                    if !state.discarding {
                        state.buffer.append(contentsOf: rest)
                        if state.buffer.count > limit {
                            state.buffer = Data()
                            state.discarding = true
                            state.discarded = true
                        }
                    }
                    break
                }
                if state.discarding {
                    state.discarding = false
                } else if state.buffer.count + (newline - rest.startIndex) > limit {
                    state.buffer = Data()
                    state.discarded = true
                } else {
                    state.buffer.append(contentsOf: rest[rest.startIndex..<newline])
                    var line = state.buffer
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    lines.append(line)
                    state.buffer = Data()
                }
                rest = rest[rest.index(after: newline)...]
            }
            return lines
        }
    }

    /// True once after a line was dropped for its size.
    func takeDiscarded() -> Bool {
        state.withLock { state in
            defer { state.discarded = false }
            return state.discarded
        }
    }
}
