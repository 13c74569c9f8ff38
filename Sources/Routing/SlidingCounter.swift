/// Two counts over a sliding window of whole seconds, in O(1) per update: one bucket per second,
/// reused as time moves on.
struct SlidingCounter: Sendable {
    private var seconds: [Int64]
    private var first: [Int]
    private var second: [Int]

    init(windowSeconds: Int) {
        let size = max(1, windowSeconds)
        seconds = Array(repeating: .min, count: size)
        first = Array(repeating: 0, count: size)
        second = Array(repeating: 0, count: size)
    }

    mutating func add(at instant: ContinuousClock.Instant, _ a: Int, _ b: Int) {
        let now = Self.second(of: instant)
        let slot = Self.slot(now, seconds.count)
        if seconds[slot] != now {
            seconds[slot] = now
            first[slot] = 0
            second[slot] = 0
        }
        first[slot] += a
        second[slot] += b
    }

    /// The sums over the window ending at `instant`.
    func totals(at instant: ContinuousClock.Instant) -> (Int, Int) {
        let now = Self.second(of: instant)
        var a = 0
        var b = 0
        for slot in 0..<seconds.count where seconds[slot] > now - Int64(seconds.count) && seconds[slot] <= now {
            a += first[slot]
            b += second[slot]
        }
        return (a, b)
    }

    mutating func reset() {
        for slot in 0..<seconds.count { seconds[slot] = .min }
    }

    private static let origin = ContinuousClock.now

    private static func second(of instant: ContinuousClock.Instant) -> Int64 {
        let elapsed = instant - origin
        let (whole, fraction) = elapsed.components
        return fraction < 0 ? whole - 1 : whole
    }

    private static func slot(_ second: Int64, _ count: Int) -> Int {
        Int(((second % Int64(count)) + Int64(count)) % Int64(count))
    }
}
