import Foundation
import SwitchyardCore

/// How often and how patiently to retry one deployment before moving on.
public struct RetryPolicy: Sendable, Hashable {
    /// Total tries on a deployment (1 = no retry).
    public var attempts: Int
    public var backoff: Duration
    public var maxBackoff: Duration

    public init(attempts: Int = 2, backoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(5)) {
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// Wait before retry number `retry` (1-based): exponential with "equal jitter" (half fixed, half
    /// random), and never shorter than the upstream's `retry-after`, capped at `maxBackoff`.
    public func delay(beforeRetry retry: Int, retryAfter: Duration? = nil, random: Double) -> Duration {
        let exponent = min(max(retry - 1, 0), 20)
        var base = backoff * (1 << exponent)
        if base > maxBackoff { base = maxBackoff }
        let jittered = base / 2 + (base / 2) * min(max(random, 0), 1)
        if let retryAfter, retryAfter > jittered { return min(retryAfter, maxBackoff) }
        return jittered
    }

    /// Parses an upstream's wait hint (see `RetryAfter.parse`).
    public static func parseRetryAfter(_ value: String?, milliseconds: String? = nil, now: Date = Date()) -> Duration? {
        RetryAfter.parse(value, milliseconds: milliseconds, now: now)
    }
}
