import Foundation
import SwitchyardCore
import Synchronization
import Testing

@Suite struct PipeReaderTests {
    /// A child that fills its stderr pipe (200 KB, three times a pipe's buffer) before writing stdout: read one
    /// after the other, this deadlocks; with stderr drained beside it, both arrive whole.
    @Test func aPipeDrainedBesideAnotherNeverBlocksTheChild() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "head -c 200000 /dev/zero >&2; printf done"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let received = Mutex(0)
        let ended = DispatchSemaphore(value: 0)
        PipeReader.start(errors.fileHandleForReading, name: "test-err") { chunk in
            received.withLock { $0 += chunk.count }
        } onEnd: {
            ended.signal()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        #expect(ended.wait(timeout: .now() + 30) == .success)
        process.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == "done")
        #expect(received.withLock { $0 } == 200_000)
        #expect(process.terminationStatus == 0)
    }
}
