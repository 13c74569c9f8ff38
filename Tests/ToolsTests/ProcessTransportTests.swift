import Foundation
import Logging
import SwitchyardCore
import Testing
@testable import Tools

@Suite("MCP stdio transport")
struct ProcessTransportTests {
    /// Many short-lived servers at once, as when a gateway probes, restarts or shuts down its MCP servers. With
    /// `FileHandle.readabilityHandler` this churn crashed the process now and then in libdispatch's epoll bookkeeping
    /// (swift-corelibs-libdispatch#949; seen in CI). Every line a child writes must still arrive, stdout and stderr.
    @Test func manyShortLivedServersDeliverEveryLineAndTearDownCleanly() async throws {
        let logger = Logger(label: "test")
        for round in 0..<4 {
            try await withThrowingTaskGroup(of: [String].self) { group in
                for index in 0..<48 {
                    group.addTask {
                        let transport = ProcessTransport(
                            command: "/bin/sh", arguments: ["-c", "echo noise >&2; echo '{\"n\":\(index)}'; printf 'two\\nthree'; echo; exec cat"],
                            logger: logger)
                        try await transport.connect()
                        var lines: [String] = []
                        for try await line in await transport.receive() {
                            lines.append(String(decoding: line, as: UTF8.self))
                            if lines.count == 3 { break }
                        }
                        try await transport.send(Data("echoed".utf8))
                        await transport.disconnect()
                        return lines
                    }
                }
                var seen = 0
                for try await lines in group {
                    #expect(lines.count == 3 && lines[1] == "two" && lines[2] == "three", "round \(round): \(lines)")
                    seen += 1
                }
                #expect(seen == 48)
            }
        }
    }

    @Test func aServerThatExitsEndsTheStreamWithItsStatus() async throws {
        let exited = AsyncStream.makeStream(of: Int32.self)
        let transport = ProcessTransport(
            command: "/bin/sh", arguments: ["-c", "echo '{}'; exit 3"], logger: Logger(label: "test"),
            onExit: { exited.continuation.yield($0) })
        try await transport.connect()
        var received: [String] = []
        do {
            for try await line in await transport.receive() { received.append(String(decoding: line, as: UTF8.self)) }
            Issue.record("the stream ended without an error")
        } catch let error as ToolError {
            #expect(error.message.contains("status 3"))
        }
        #expect(received == ["{}"])
        var statuses = exited.stream.makeAsyncIterator()
        #expect(await statuses.next() == 3)
        await transport.disconnect()
    }

    /// The spawner behind the transport (not Foundation's `Process`, whose `run()` over-reads `/proc/self/fd`):
    /// exactly the environment and directory asked for, no descriptor of the gateway's but the three pipes,
    /// default signal handling, and the exit status or the signal that ended the child.
    @Test func childProcessesGetOnlyWhatTheyAreGiven() async throws {
        let directory = FileManager.default.temporaryDirectory.path
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let child = try ChildProcess.spawn(
            executable: "/bin/sh",
            arguments: ["-c", #"echo "$ONLY|${HOME-unset}|$(pwd)"; ls /proc/self/fd | tr '\n' ' '; echo; grep SigIgn /proc/$$/status | cut -f2; echo err >&2; exit 7"#],
            environment: ["ONLY": "this", "PATH": "/usr/bin:/bin"], workingDirectory: directory
        ) { status in
            continuation.yield(status)
            continuation.finish()
        }
        var status: Int32?
        for await value in stream { status = value }
        #expect(status == 7)
        #expect(!child.isRunning)
        let out = String(decoding: try child.output.readToEnd() ?? Data(), as: UTF8.self).split(separator: "\n")
        #expect(out.first == "this|unset|\(directory)", "\(out)")
        // 0, 1, 2 and the one `ls` opens to list them: nothing of the parent's.
        #expect(out.count > 2 && out[1].split(separator: " ").count == 4, "\(out)")
        // SIGPIPE is not ignored in the child, whatever the parent does with it.
        let ignored = out.count > 2 ? UInt64(out[2], radix: 16) : nil
        #expect(ignored.map { $0 & (1 << UInt64(SIGPIPE - 1)) == 0 } == true, "\(out)")
        #expect(String(decoding: try child.errorOutput.readToEnd() ?? Data(), as: UTF8.self) == "err\n")

        let (killed, ended) = AsyncStream<Int32>.makeStream()
        let sleeper = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["30"], environment: [:], workingDirectory: nil) { status in
            ended.yield(status)
            ended.finish()
        }
        #expect(sleeper.isRunning)
        sleeper.signal(SIGTERM)
        var signalled: Int32?
        for await value in killed { signalled = value }
        #expect(signalled == SIGTERM)
        sleeper.signal(SIGKILL)  // after the exit: nothing is sent to a reaped pid

        #expect(throws: ChildProcess.SpawnError.self) {
            try ChildProcess.spawn(executable: "/nonexistent/program", arguments: [], environment: [:], workingDirectory: nil) { _ in }
        }
        #expect(throws: ChildProcess.SpawnError.self) {
            try ChildProcess.spawn(executable: "/bin/sh", arguments: [], environment: [:], workingDirectory: "/nonexistent/dir") { _ in }
        }
    }
}
