import Foundation

/// A generic cell rate algorithm (GCRA) over a one-minute window, for requests and for tokens.
///
/// Each limited subject keeps one "theoretical arrival time" (TAT): the instant by which everything
/// admitted so far would have drained at the steady rate. A request of weight `w` is admitted when
/// the new TAT would be at most one window ahead of now — so a full minute's allowance may come as
/// one burst (60 concurrent requests against `rpm: 30` admit exactly 30), and then refills at
/// `limit / 60` per second. Exact, O(1), no timers. A pure value: the caller holds the lock and
/// passes the time.
public struct RateCell: Sendable, Hashable {
    /// Seconds since an arbitrary origin (the caller's clock).
    public private(set) var theoreticalArrival: Double = 0

    public init() {}

    /// A cell whose state was kept elsewhere (the shared database's row).
    public init(theoreticalArrival: Double) { self.theoreticalArrival = theoreticalArrival.isFinite ? theoreticalArrival : 0 }

    public static let window = 60.0

    /// What a limit says right now.
    public struct Status: Sendable, Hashable {
        public var limit: Int
        public var remaining: Int
        /// Seconds until the allowance is full again.
        public var resetSeconds: Double
        /// Seconds until `weight` more would be admitted (0 when it was).
        public var retryAfterSeconds: Double
    }

    /// Admits `weight` units under `limit` per minute at `now`, or leaves the cell unchanged.
    public mutating func admit(_ weight: Int, limit: Int, now: Double) -> (admitted: Bool, status: Status) {
        let limit = max(limit, 1)
        guard now.isFinite else { return (false, status(limit: limit, now: theoreticalArrival, retryAfter: Self.window)) }
        let interval = Self.window / Double(limit)
        let weight = Double(max(weight, 0))
        let start = max(theoreticalArrival, now)
        let next = start + weight * interval
        if next - now <= Self.window + 1e-9 {
            theoreticalArrival = next
            return (true, status(limit: limit, now: now, retryAfter: 0))
        }
        // It would fit once the backlog has drained to `window - weight·interval`.
        let retry = max(0, next - now - Self.window)
        return (false, status(limit: limit, now: now, retryAfter: retry))
    }

    public func status(limit: Int, now: Double, retryAfter: Double = 0) -> Status {
        let interval = Self.window / Double(max(limit, 1))
        let backlog = max(0, theoreticalArrival - now)
        // Clamped in Double first: `Int(_:)` of a value past Int's range would trap.
        let units = min(max(0, ((Self.window - backlog) / interval + 1e-9).rounded(.down)), Double(limit))
        let remaining = units.isFinite ? min(Int(exactly: units) ?? limit, limit) : 0
        return Status(
            limit: limit, remaining: remaining, resetSeconds: backlog.isFinite ? backlog : Self.window,
            retryAfterSeconds: retryAfter.isFinite ? max(0, retryAfter) : Self.window)
    }
}

/// Durations as OpenAI writes them in `x-ratelimit-reset-*`: `6m0s`, `1.2s`, `17ms`.
public enum RateLimitDuration {
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "0s" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded(.up)))ms" }
        if seconds < 60 {
            let tenths = (seconds * 10).rounded(.up) / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : String(format: "%.1fs", tenths)
        }
        let whole = Int(seconds.rounded(.up))
        return "\(whole / 60)m\(whole % 60)s"
    }
}
