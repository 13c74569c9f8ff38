import Foundation
import Logging
import MCP
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
    private var process: Process?
    private var input: FileHandle?
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private let exit: @Sendable (Int32) -> Void

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
        self.exit = onExit
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    /// The child's process id while it runs.
    public var processIdentifier: Int32? { process?.isRunning == true ? process?.processIdentifier : nil }

    public func connect() async throws {
        guard process == nil else { return }
        let process = Process()
        process.executableURL = try Self.locate(command, environment: environment)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, configured in configured }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory, isDirectory: true) }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr

        let lines = LineSplitter()
        let continuation = self.continuation
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            for line in lines.feed(data) where !line.isEmpty { continuation.yield(line) }
        }
        let logger = self.logger
        let errorLines = LineSplitter()
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            for line in errorLines.feed(data) where !line.isEmpty {
                logger.debug("stderr", metadata: ["switchyard.mcp.stderr": .string(String(decoding: line.prefix(2000), as: UTF8.self))])
            }
        }
        let exit = self.exit
        let name = command
        process.terminationHandler = { finished in
            let status = finished.terminationStatus
            continuation.finish(throwing: ToolError(.unavailable, "The MCP server process '\(name)' exited (status \(status))."))
            exit(status)
        }
        do {
            try process.run()
        } catch {
            throw ToolError(.unavailable, "Could not start the MCP server '\(command)': \(error.localizedDescription)")
        }
        self.process = process
        self.input = stdin.fileHandleForWriting
        logger.info("started MCP server process", metadata: ["switchyard.mcp.pid": "\(process.processIdentifier)"])
    }

    public func disconnect() async {
        guard let process else { return }
        try? input?.close()
        input = nil
        if process.isRunning { process.terminate() }
        // A server that ignores SIGTERM gets SIGKILL after a grace period.
        for _ in 0..<20 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        continuation.finish()
        self.process = nil
    }

    public func send(_ data: Data) async throws {
        guard let input, process?.isRunning == true else {
            throw ToolError(.unavailable, "The MCP server process '\(command)' is not running.")
        }
        var line = data
        line.append(UInt8(ascii: "\n"))
        do {
            try input.write(contentsOf: line)
        } catch {
            throw ToolError(.unavailable, "Could not write to the MCP server process '\(command)': \(error.localizedDescription)")
        }
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

/// Splits a byte stream into lines; called from the pipe's reader thread.
final class LineSplitter: Sendable {
    private let buffer = Mutex<Data>(Data())

    func feed(_ data: Data) -> [Data] {
        buffer.withLock { buffer in
            buffer.append(data)
            var lines: [Data] = []
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[buffer.startIndex..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                lines.append(Data(line))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
            return lines
        }
    }
}
