import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Told about each cell as it finishes (the runner calls it from many tasks at once).
public protocol EvalProgressReporting: Sendable {
    func cellFinished(_ row: EvalResultRow)
}

/// A progress line on stderr while a run goes: cells done of all, passes, failures and errors so
/// far, elapsed time, rate and time left.
///
/// On a terminal the line is redrawn in place (`\r`, at most ten times a second); when stderr is a
/// file or a pipe (CI logs) a plain line is written at each tenth of the way instead, so logs stay short.
public final class EvalProgress: EvalProgressReporting {
    /// What has finished so far.
    public struct Counts: Sendable, Hashable {
        public var completed = 0
        public var passes = 0
        public var failures = 0
        public var errors = 0
    }

    private struct State {
        var counts = Counts()
        var lastDraw = -Double.infinity
        var lastDecile = 0
        /// Cells the line on screen shows (terminal only), so `finish` redraws only when it is behind.
        var drawnCompleted = -1
        var finished = false
    }

    public let total: Int
    private let isTerminal: Bool
    private let elapsed: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - isTerminal: redraw in place; defaults to whether stderr is a terminal.
    ///   - elapsed: seconds since the run started (injected so tests need no clock).
    ///   - write: where the text goes; defaults to stderr.
    public init(
        total: Int, isTerminal: Bool? = nil, elapsed: (@Sendable () -> Double)? = nil, write: (@Sendable (String) -> Void)? = nil
    ) {
        self.total = max(total, 0)
        self.isTerminal = isTerminal ?? (isatty(2) != 0)
        let start = ContinuousClock.now
        self.elapsed =
            elapsed ?? {
                let duration = ContinuousClock.now - start
                return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
        self.write = write ?? { text in FileHandle.standardError.write(Data(text.utf8)) }
    }

    public var counts: Counts { state.withLock { $0.counts } }

    public func cellFinished(_ row: EvalResultRow) {
        let seconds = elapsed()
        // Written while holding the lock so lines from concurrent cells never interleave or go backwards.
        state.withLock { state in
            guard !state.finished else { return }
            state.counts.completed += 1
            switch row.failureReason {
            case .none: state.counts.passes += 1
            case .assertion: state.counts.failures += 1
            case .error: state.counts.errors += 1
            }
            let done = state.counts.completed >= total
            if isTerminal {
                guard done || seconds - state.lastDraw >= 0.1 else { return }
                state.lastDraw = seconds
                state.drawnCompleted = state.counts.completed
                write("\r" + line(state.counts, seconds: seconds, bar: true) + "\u{1B}[K")
            } else {
                let decile = total == 0 ? 10 : min(state.counts.completed * 10 / total, 10)
                guard decile > state.lastDecile else { return }
                state.lastDecile = decile
                write(line(state.counts, seconds: seconds, bar: false) + "\n")
            }
        }
    }

    /// Ends the progress line (a newline after the redrawn line on a terminal); later cells are ignored.
    public func finish() {
        let seconds = elapsed()
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            if isTerminal {
                let current = state.drawnCompleted == state.counts.completed
                write(current ? "\n" : "\r" + line(state.counts, seconds: seconds, bar: true) + "\u{1B}[K\n")
            } else if state.lastDecile < 10 && state.counts.completed > 0 {
                write(line(state.counts, seconds: seconds, bar: false) + "\n")
            }
        }
    }

    /// `[██████░░░░] 60/100 (60%)  ✓ 50  ✗ 8  ! 2  12.0 s  5.0 cells/s  ~8 s left`, or without the bar
    /// and symbols for logs.
    func line(_ counts: Counts, seconds: Double, bar: Bool) -> String {
        let fraction = total == 0 ? 1 : Double(counts.completed) / Double(total)
        let percent = Int((min(fraction, 1) * 100).rounded(.down))
        let rate = seconds > 0 ? Double(counts.completed) / seconds : 0
        var parts: [String] = []
        if bar {
            let width = 24
            let filled = min(Int((fraction * Double(width)).rounded(.down)), width)
            parts.append("[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "]")
            parts.append("\(counts.completed)/\(total) (\(percent)%)")
            parts.append("✓ \(counts.passes)  ✗ \(counts.failures)  ! \(counts.errors)")
        } else {
            parts.append("eval: \(counts.completed)/\(total) cells (\(percent)%)")
            parts.append("\(counts.passes) passed, \(counts.failures) failed, \(counts.errors) errors")
        }
        parts.append(String(format: "%.1f s", seconds))
        parts.append(String(format: "%.1f cells/s", rate))
        if rate > 0 && counts.completed < total {
            parts.append(String(format: "~%.0f s left", Double(total - counts.completed) / rate))
        }
        return parts.joined(separator: bar ? "  " : ", ")
    }
}
