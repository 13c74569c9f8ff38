import Foundation
import Logging
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
}
