import SwitchyardCore

/// Progress of a bench's long loops, on stderr (the figures go to stdout): counts and rate, a bar on
/// a terminal, plain lines otherwise (`TaskProgress`). `tick()` only counts; every `stride` ticks it
/// tells the `TaskProgress`, which draws at most ten times a second. Benches tick after reading the
/// clock, never inside a measured section, so what a sample measures is unchanged.
struct BenchProgress {
    private let progress: TaskProgress?
    private let stride: Int
    private var pending = 0

    /// - Parameter total: ticks expected in all; nothing is shown for fewer than `minimum`, which
    ///   finish before anyone would wait for a bar.
    init(_ label: String, total: Int, unit: String, minimum: Int = 2) {
        progress = total >= minimum ? TaskProgress(label, total: total, unit: unit) : nil
        stride = max(1, total / 200)
    }

    mutating func tick(_ count: Int = 1) {
        guard let progress else { return }
        pending += count
        if pending >= stride {
            progress.advance(by: pending)
            pending = 0
        }
    }

    /// Ends the line (the next output starts on a fresh one).
    mutating func finish() {
        if pending > 0 { progress?.advance(by: pending) }
        pending = 0
        progress?.finish()
    }
}
