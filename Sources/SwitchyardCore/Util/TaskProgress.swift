import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of long CLI work on stderr (`ingest`, `route train`, `models pull`, `bench …`; `eval run` has its own with pass and
/// fail counts): on a terminal one line redrawn in place at most ten times a second,
/// `ingest  [██████░░░░] 60/100 files (60%)  12 docs  4.1 s  14.6 files/s  ~3 s left`; when stderr is a file or a pipe
/// (CI logs) a plain line at each tenth of the way, so logs stay short. Safe to call from many tasks.
///
/// Bytes (`measure: .bytes`) read as sizes and rates (`12.3 MB/90.9 MB`, `3.1 MB/s`). With no total
/// (a download without Content-Length) there is no bar or percentage: the count and the rate, and in
/// plain mode a line every `plainInterval` seconds.
public final class TaskProgress: Sendable {
    /// How the count reads.
    public enum Measure: Sendable {
        /// `60/100 files`
        case count
        /// `12.3 MB/90.9 MB`, rates in MB/s.
        case bytes
    }

    private struct State {
        var done = 0
        var detail = ""
        var lastDraw = -Double.infinity
        var lastDecile = 0
        var lastPlain = 0.0
        var finished = false
    }

    public let label: String
    /// Nil when unknown.
    public let total: Int?
    public let unit: String
    public let measure: Measure
    /// Without a total, plain mode writes a line at most this often.
    public static let plainInterval = 5.0
    private let isTerminal: Bool
    private let elapsed: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - label: what is being done (`ingest`), the start of the plain lines.
    ///   - unit: what is counted (`files`).
    ///   - isTerminal: redraw in place; defaults to whether stderr is a terminal.
    public init(
        _ label: String, total: Int?, unit: String, measure: Measure = .count, isTerminal: Bool? = nil,
        elapsed: (@Sendable () -> Double)? = nil, write: (@Sendable (String) -> Void)? = nil
    ) {
        self.label = label
        self.total = total.map { max(0, $0) }
        self.unit = unit
        self.measure = measure
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
            state.done = capped(max(done, state.done))
            state.detail = detail
            draw(&state, seconds: seconds, force: isComplete(state))
        }
    }

    public func advance(by count: Int = 1, detail: String = "") {
        let seconds = elapsed()
        state.withLock { state in
            guard !state.finished else { return }
            let (sum, overflow) = state.done.addingReportingOverflow(max(0, count))
            state.done = capped(overflow ? Int.max : sum)
            if !detail.isEmpty { state.detail = detail }
            draw(&state, seconds: seconds, force: isComplete(state))
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

    private func capped(_ done: Int) -> Int { total.map { min(done, $0) } ?? done }
    private func isComplete(_ state: State) -> Bool { total.map { state.done >= $0 } ?? false }

    private func draw(_ state: inout State, seconds: Double, force: Bool) {
        if isTerminal {
            guard force || seconds - state.lastDraw >= 0.1 else { return }
            state.lastDraw = seconds
            write("\r" + line(state, seconds: seconds, bar: true) + "\u{1B}[K")
        } else if let total {
            let decile = total == 0 ? 10 : min(Int((Double(state.done) * 10 / Double(total)).rounded(.down)), 10)
            guard decile > state.lastDecile else { return }
            state.lastDecile = decile
            write(line(state, seconds: seconds, bar: false) + "\n")
        } else {
            guard seconds - state.lastPlain >= Self.plainInterval else { return }
            state.lastPlain = seconds
            write(line(state, seconds: seconds, bar: false) + "\n")
        }
    }

    /// `1,234` for counts; `12.3 MB` for bytes.
    private func amount(_ value: Int) -> String {
        switch measure {
        case .count: return "\(value)"
        case .bytes: return Self.size(Double(value))
        }
    }

    /// Decimal units, as download tools show them: `950 B`, `12.3 kB`, `90.9 MB`, `1.20 GB`.
    public static func size(_ bytes: Double) -> String {
        switch bytes {
        case ..<1_000: return String(format: "%.0f B", bytes)
        case ..<1_000_000: return String(format: "%.1f kB", bytes / 1_000)
        case ..<1_000_000_000: return String(format: "%.1f MB", bytes / 1_000_000)
        default: return String(format: "%.2f GB", bytes / 1_000_000_000)
        }
    }

    private func line(_ state: State, seconds: Double, bar: Bool) -> String {
        let rate = seconds > 0 ? Double(state.done) / seconds : 0
        let counted = measure == .bytes ? amount(state.done) : "\(state.done)"
        var parts: [String] = []
        if let total {
            let fraction = total == 0 ? 1 : Double(state.done) / Double(total)
            let percent = Int((min(fraction, 1) * 100).rounded(.down))
            let count = measure == .bytes ? "\(counted)/\(amount(total))" : "\(counted)/\(total) \(unit)"
            if bar {
                // Named on a terminal too: a command may draw several bars, one after another (one per downloaded file).
                parts.append(label)
                let width = 24
                let filled = min(Int((min(fraction, 1) * Double(width)).rounded(.down)), width)
                parts.append("[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "]")
                parts.append("\(count) (\(percent)%)")
            } else {
                parts.append("\(label): \(count) (\(percent)%)")
            }
        } else {
            let count = measure == .bytes ? counted : "\(counted) \(unit)"
            parts.append("\(label): \(count)")
        }
        if !state.detail.isEmpty { parts.append(state.detail) }
        parts.append(String(format: "%.1f s", seconds))
        parts.append(measure == .bytes ? Self.size(rate) + "/s" : String(format: "%.1f %@/s", rate, unit))
        if let total, rate > 0 && state.done < total { parts.append(String(format: "~%.0f s left", Double(total - state.done) / rate)) }
        return parts.joined(separator: bar ? "  " : ", ")
    }
}
