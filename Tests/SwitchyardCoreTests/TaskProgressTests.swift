import Foundation
import Synchronization
import SwitchyardCore
import Testing

@Suite struct TaskProgressTests {
    final class Sink: Sendable {
        let text = Mutex("")
        func write(_ part: String) { text.withLock { $0 += part } }
    }

    /// Not a terminal (CI logs): one plain line per tenth of the way, with the rate, and nothing more at the end.
    @Test func plainLinesAtEachTenth() {
        let sink = Sink()
        let clock = Mutex(0.0)
        let progress = TaskProgress(
            "ingest", total: 20, unit: "files", isTerminal: false, elapsed: { clock.withLock { $0 } }, write: sink.write)
        for done in 1...20 {
            clock.withLock { $0 = Double(done) / 2 }
            progress.update(done: done, detail: "\(done * 3) docs")
        }
        progress.finish()
        let lines = sink.text.withLock { $0 }.split(separator: "\n")
        #expect(lines.count == 10)
        #expect(lines.first == "ingest: 2/20 files (10%), 6 docs, 1.0 s, 2.0 files/s, ~9 s left")
        #expect(lines.last == "ingest: 20/20 files (100%), 60 docs, 10.0 s, 2.0 files/s")
        #expect(!sink.text.withLock { $0 }.contains("\r"))
    }

    /// On a terminal: redrawn in place at most ten times a second, the last state always drawn, one newline at the end.
    @Test func terminalRedrawsInPlace() {
        let sink = Sink()
        let clock = Mutex(0.0)
        let progress = TaskProgress(
            "route", total: 1_000, unit: "prompts", isTerminal: true, elapsed: { clock.withLock { $0 } }, write: sink.write)
        for done in 1...1_000 {
            clock.withLock { $0 = Double(done) / 1_000 }  // one second in all
            progress.advance()
        }
        progress.finish()
        progress.update(done: 5)  // after finish: ignored
        let text = sink.text.withLock { $0 }
        let draws = text.split(separator: "\r").count
        #expect(draws >= 10 && draws <= 13, "\(draws) redraws")
        #expect(text.hasSuffix("1000/1000 prompts (100%)  1.0 s  1000.0 prompts/s\u{1B}[K\n"))
        #expect(text.filter { $0 == "\n" }.count == 1)
    }

    /// Bytes read as sizes and rates; a download with a Content-Length has its bar and percentage.
    @Test func bytesReadAsSizes() {
        let sink = Sink()
        let clock = Mutex(0.0)
        let progress = TaskProgress(
            "model.safetensors", total: 90_868_376, unit: "bytes", measure: .bytes, isTerminal: false,
            elapsed: { clock.withLock { $0 } }, write: sink.write)
        for step in 1...10 {
            clock.withLock { $0 = Double(step) }
            progress.update(done: 9_086_838 * step)
        }
        progress.finish()
        let lines = sink.text.withLock { $0 }.split(separator: "\n")
        #expect(lines.first == "model.safetensors: 9.1 MB/90.9 MB (10%), 1.0 s, 9.1 MB/s, ~9 s left")
        #expect(lines.last == "model.safetensors: 90.9 MB/90.9 MB (100%), 10.0 s, 9.1 MB/s")
    }

    /// No Content-Length: no percentage, the count and the rate, a plain line every few seconds.
    @Test func unknownTotal() {
        let sink = Sink()
        let clock = Mutex(0.0)
        let progress = TaskProgress(
            "vocab.txt", total: nil, unit: "bytes", measure: .bytes, isTerminal: false, elapsed: { clock.withLock { $0 } }, write: sink.write)
        for step in 1...20 {
            clock.withLock { $0 = Double(step) }
            progress.advance(by: 1_000_000)
        }
        progress.finish()
        let lines = sink.text.withLock { $0 }.split(separator: "\n")
        #expect(lines.count == 5, "\(lines)")  // at 5, 10, 15 and 20 s, and the end
        #expect(lines.first == "vocab.txt: 5.0 MB, 5.0 s, 1.0 MB/s")
        #expect(!sink.text.withLock { $0 }.contains("%"))
    }
}
