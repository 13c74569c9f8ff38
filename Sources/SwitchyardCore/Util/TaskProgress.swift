import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of long CLI work on stderr (`ingest`, `route train`, `models pull`; `eval run` has its own with pass and
/// fail counts): on a terminal one line redrawn in place at most ten times a second,
/// `[██████░░░░] 60/100 files (60%)  12 docs  4.1 s  14.6 files/s  ~3 s left`; when stderr is a file or a pipe
/// (CI logs) a plain line at each tenth of the way, so logs stay short. Safe to call from many tasks.
public final class TaskProgress: Sendable {
    private struct State {
        var done = 0
        var detail = ""
        var lastDraw = -Double.infinity
        var lastDecile = 0
        var finished = false
    }

    public let label: String
    public let total: Int
    public let unit: String
    private let isTerminal: Bool
    private let elapsed: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - label: what is being done (`ingest`), the start of the plain lines.
    ///   - unit: what is counted (`files`).
    ///   - isTerminal: redraw in place; defaults to whether stderr is a terminal.
    public init(
        _ label: String, total: Int, unit: String, isTerminal: Bool? = nil, elapsed: (@Sendable () -> Double)? = nil,
        write: (@Sendable (String) -> Void)? = nil
    ) {
        self.label = label
        self.total = max(0, total)
        self.unit = unit
        self.isTerminal = isTerminal ?? (isatty(2) != 0)
        let start = ContinuousClock.now
        self.elapsed = elapsed ?? {
            let duration = ContinuousClock.now - start
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        self.write = write ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// `done` of `total` finished; `detail` is shown beside the count (`12 docs`).
    public func update(done: Int, detail: String = "") {
        let seconds = elapsed()
        state.withLock { state in
            guard !state.finished else { return }
            state.done = min(max(done, state.done), total)
            state.detail = detail
            draw(&state, seconds: seconds, force: state.done >= total)
        }
    }

    public func advance(by count: Int = 1, detail: String = "") {
        let seconds = elapsed()
        state.withLock { state in
            guard !state.finished else { return }
            state.done = min(state.done + max(0, count), total)
            if !detail.isEmpty { state.detail = detail }
            draw(&state, seconds: seconds, force: state.done >= total)
        }
    }

    /// Ends the line; later updates are ignored.
    public func finish() {
        let seconds = elapsed()
        state.withLock { state in
            guard !state.finished else { return }
            if isTerminal {
                write("\r" + line(state, seconds: seconds, bar: true) + "\u{1B}[K\n")
            } else if state.lastDecile < 10 {
                write(line(state, seconds: seconds, bar: false) + "\n")
            }
            state.finished = true
        }
    }

    private func draw(_ state: inout State, seconds: Double, force: Bool) {
        if isTerminal {
            guard force || seconds - state.lastDraw >= 0.1 else { return }
            state.lastDraw = seconds
            write("\r" + line(state, seconds: seconds, bar: true) + "\u{1B}[K")
        } else {
            let decile = total == 0 ? 10 : min(state.done * 10 / total, 10)
            guard decile > state.lastDecile else { return }
            state.lastDecile = decile
            write(line(state, seconds: seconds, bar: false) + "\n")
        }
    }

    private func line(_ state: State, seconds: Double, bar: Bool) -> String {
        let fraction = total == 0 ? 1 : Double(state.done) / Double(total)
        let percent = Int((min(fraction, 1) * 100).rounded(.down))
        let rate = seconds > 0 ? Double(state.done) / seconds : 0
        var parts: [String] = []
        if bar {
            let width = 24
            let filled = min(Int((fraction * Double(width)).rounded(.down)), width)
            parts.append("[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "]")
            parts.append("\(state.done)/\(total) \(unit) (\(percent)%)")
        } else {
            parts.append("\(label): \(state.done)/\(total) \(unit) (\(percent)%)")
        }
        if !state.detail.isEmpty { parts.append(state.detail) }
        parts.append(String(format: "%.1f s", seconds))
        parts.append(String(format: "%.1f %@/s", rate, unit))
        if rate > 0 && state.done < total { parts.append(String(format: "~%.0f s left", Double(total - state.done) / rate)) }
        return parts.joined(separator: bar ? "  " : ", ")
    }
}
