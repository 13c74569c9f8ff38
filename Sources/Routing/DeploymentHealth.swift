import Synchronization

/// Live statistics and circuit breakers of every deployment, shared by all requests.
/// The clock is injected so tests can move time without sleeping.
public final class DeploymentHealth: Sendable {
    struct Entry {
        var breaker: CircuitBreaker
        var inFlight = 0
        var latencyMs: Double?
        var ttftMs: Double?
        var requests: [ContinuousClock.Instant] = []
        var tokens: [(at: ContinuousClock.Instant, count: Int)] = []
    }

    public enum Outcome: Sendable {
        case success(latencyMs: Double, ttftMs: Double?, tokens: Int)
        /// A failure that says something about the deployment (5xx, 429, timeout, connection error).
        case failure
        /// The request ended for a reason that is not the deployment's fault (client error, cancellation).
        case neutral
    }

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
            var entry = entries[name] ?? Entry(breaker: CircuitBreaker(policy: policy))
            Self.prune(&entry, at: instant)
            entries[name] = entry
            return (
                entry.breaker.isAvailable(at: instant), entry.inFlight, entry.latencyMs, entry.ttftMs, entry.requests.count,
                entry.tokens.reduce(0) { $0 + $1.count }
            )
        }
    }

    public func breakerState(_ name: String) -> CircuitBreaker.State {
        entries.withLock { $0[name]?.breaker.state ?? .closed }
    }

    /// Claims a slot on a deployment; false when its breaker will not let a request through.
    public func begin(_ name: String, estimatedTokens: Int) -> Bool {
        let instant = now()
        return entries.withLock { entries in
            var entry = entries[name] ?? Entry(breaker: CircuitBreaker(policy: policy))
            guard entry.breaker.acquire(at: instant) else {
                entries[name] = entry
                return false
            }
            entry.inFlight += 1
            entry.requests.append(instant)
            entry.tokens.append((instant, estimatedTokens))
            entries[name] = entry
            return true
        }
    }

    public func end(_ name: String, outcome: Outcome) {
        let instant = now()
        entries.withLock { entries in
            guard var entry = entries[name] else { return }
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
            entries[name] = entry
        }
    }

    private static func prune(_ entry: inout Entry, at instant: ContinuousClock.Instant) {
        let horizon = instant.advanced(by: .seconds(-60))
        if let first = entry.requests.firstIndex(where: { $0 >= horizon }) {
            entry.requests.removeFirst(first)
        } else {
            entry.requests.removeAll()
        }
        if let first = entry.tokens.firstIndex(where: { $0.at >= horizon }) {
            entry.tokens.removeFirst(first)
        } else {
            entry.tokens.removeAll()
        }
    }
}
