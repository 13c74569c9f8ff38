/// When a deployment is taken out of rotation and how it comes back.
public struct CircuitBreakerPolicy: Sendable, Hashable {
    /// Open after this many failures in a row.
    public var consecutiveFailures: Int
    /// …or when at least this share of the calls in `window` failed (with at least `minimumCalls` calls).
    public var failureRate: Double
    public var minimumCalls: Int
    public var window: Duration
    /// How long an open breaker sends no traffic before letting one probe through.
    public var openDuration: Duration

    public init(
        consecutiveFailures: Int = 5, failureRate: Double = 0.5, minimumCalls: Int = 10, window: Duration = .seconds(30),
        openDuration: Duration = .seconds(30)
    ) {
        self.consecutiveFailures = consecutiveFailures
        self.failureRate = failureRate
        self.minimumCalls = minimumCalls
        self.window = window
        self.openDuration = openDuration
    }
}

/// A per-deployment circuit breaker: closed → open (after N failures in a row or X % in a window) →
/// half-open (one probe after the cool-down) → closed on success, open again on failure.
/// A pure state machine: every transition takes the current instant, so tests need no sleeps.
public struct CircuitBreaker: Sendable {
    public enum State: Sendable, Hashable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(probeInFlight: Bool)
    }

    public let policy: CircuitBreakerPolicy
    public private(set) var state: State = .closed
    private var consecutiveFailures = 0
    /// Calls and failures per second over the window.
    private var outcomes: SlidingCounter

    public init(policy: CircuitBreakerPolicy = .init()) {
        self.policy = policy
        self.outcomes = SlidingCounter(windowSeconds: Int(policy.window.components.seconds))
    }

    /// Whether a request may go to this deployment now, without changing state (for planning).
    public func isAvailable(at now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed: return true
        case .open(let until): return now >= until
        case .halfOpen(let probeInFlight): return !probeInFlight
        }
    }

    /// Takes a slot for a request: in half-open state only one probe at a time gets through.
    public mutating func acquire(at now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(probeInFlight: true)
            return true
        case .halfOpen(let probeInFlight):
            guard !probeInFlight else { return false }
            state = .halfOpen(probeInFlight: true)
            return true
        }
    }

    /// Takes a slot whatever the state (panic mode: every deployment is open). An open breaker turns
    /// half-open as if its cool-down had ended, so this call's outcome closes or re-opens it.
    public mutating func forceAcquire(at now: ContinuousClock.Instant) {
        switch state {
        case .closed: return
        case .open, .halfOpen: state = .halfOpen(probeInFlight: true)
        }
    }

    /// When an open breaker lets the next probe through; nil when it is not open.
    public var openUntil: ContinuousClock.Instant? {
        if case .open(let until) = state { return until }
        return nil
    }

    public mutating func recordSuccess(at now: ContinuousClock.Instant) {
        consecutiveFailures = 0
        remember(failed: false, at: now)
        if case .halfOpen = state {
            state = .closed
            outcomes.reset()
        }
    }

    public mutating func recordFailure(at now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        remember(failed: true, at: now)
        switch state {
        case .halfOpen, .open:
            state = .open(until: now.advanced(by: policy.openDuration))
        case .closed:
            let (calls, failures) = outcomes.totals(at: now)
            let rateTripped = calls >= policy.minimumCalls && Double(failures) / Double(calls) >= policy.failureRate
            if consecutiveFailures >= policy.consecutiveFailures || rateTripped {
                state = .open(until: now.advanced(by: policy.openDuration))
            }
        }
    }

    /// Releases a half-open probe slot without an outcome (the request was cancelled).
    public mutating func releaseProbe() {
        if case .halfOpen(true) = state { state = .halfOpen(probeInFlight: false) }
    }

    private mutating func remember(failed: Bool, at now: ContinuousClock.Instant) {
        outcomes.add(at: now, 1, failed ? 1 : 0)
    }
}
