import SwitchyardCore
import Synchronization

/// Live statistics and circuit breakers of every deployment, shared by all requests.
/// The clock is injected so tests can move time without sleeping.
public final class DeploymentHealth: Sendable {
    /// A reference type so that updates under the lock happen in place, never copying.
    final class Entry {
        var breaker: CircuitBreaker
        var inFlight = 0
        var latencyMs: Double?
        var ttftMs: Double?
        /// Requests and tokens over the last minute.
        var usage = SlidingCounter(windowSeconds: 60)

        init(breaker: CircuitBreaker) {
            self.breaker = breaker
        }
    }

    public enum Outcome: Sendable {
        case success(latencyMs: Double, ttftMs: Double?, tokens: Int)
        /// A failure that says something about the deployment (5xx, 429, timeout, connection error).
        case failure
        /// The request ended for a reason that is not the deployment's fault (client error, cancellation).
        case neutral
    }

    // `Entry` is a class, but only ever touched with this lock held.
    private let entries = Mutex<[String: Entry]>([:])
    private let policy: CircuitBreakerPolicy
    private let now: @Sendable () -> ContinuousClock.Instant
    /// Weight of the newest sample in the latency averages.
    private let smoothing = 0.3

    public init(policy: CircuitBreakerPolicy = .init(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.policy = policy
        self.now = now
    }

    public func snapshot(_ name: String) -> (available: Bool, inFlight: Int, latencyMs: Double?, ttftMs: Double?, requestsLastMinute: Int, tokensLastMinute: Int) {
        let instant = now()
        return entries.withLock { entries in
            guard let entry = entries[name] else { return (true, 0, nil, nil, 0, 0) }
            let (requests, tokens) = entry.usage.totals(at: instant)
            return (entry.breaker.isAvailable(at: instant), entry.inFlight, entry.latencyMs, entry.ttftMs, requests, tokens)
        }
    }

    public func breakerState(_ name: String) -> CircuitBreaker.State {
        entries.withLock { $0[name]?.breaker.state ?? .closed }
    }

    /// When the deployment's open breaker lets the next probe through; nil when it is not open.
    public func openUntil(_ name: String) -> ContinuousClock.Instant? {
        entries.withLock { $0[name]?.breaker.openUntil }
    }

    /// Seconds until the deployment's open breaker lets the next probe through (by the injected
    /// clock); nil when it is not open.
    public func secondsUntilProbe(_ name: String) -> Double? {
        guard let until = openUntil(name) else { return nil }
        let remaining = now().duration(to: until).components
        return max(0, Double(remaining.seconds) + Double(remaining.attoseconds) / 1e18)
    }

    /// Claims a slot on a deployment; false when its breaker will not let a request through.
    /// `force` claims it anyway (panic mode, when every deployment of a plan is open).
    public func begin(_ name: String, estimatedTokens: Int, force: Bool = false) -> Bool {
        let instant = now()
        return entries.withLock { entries in
            let entry = entries[name] ?? {
                let created = Entry(breaker: CircuitBreaker(policy: policy))
                entries[name] = created
                return created
            }()
            if force {
                entry.breaker.forceAcquire(at: instant)
            } else {
                guard entry.breaker.acquire(at: instant) else { return false }
            }
            entry.inFlight += 1
            entry.usage.add(at: instant, 1, max(0, min(estimatedTokens, TokenCount.maximum)))
            return true
        }
    }

    public func end(_ name: String, outcome: Outcome) {
        let instant = now()
        entries.withLock { entries in
            guard let entry = entries[name] else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            switch outcome {
            case .success(let latency, let ttft, _):
                entry.breaker.recordSuccess(at: instant)
                entry.latencyMs = entry.latencyMs.map { $0 + smoothing * (latency - $0) } ?? latency
                if let ttft { entry.ttftMs = entry.ttftMs.map { $0 + smoothing * (ttft - $0) } ?? ttft }
            case .failure:
                entry.breaker.recordFailure(at: instant)
            case .neutral:
                entry.breaker.releaseProbe()
            }
        }
    }
}
