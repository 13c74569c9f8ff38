import Foundation
import Synchronization
import SwitchyardCore
import Testing

@testable import Routing

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(_ duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
}

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    let t0 = ContinuousClock.now

    @Test func opensAfterConsecutiveFailuresAndProbesAfterCoolDown() {
        var breaker = CircuitBreaker(policy: .init(consecutiveFailures: 3, openDuration: .seconds(30)))
        for second in 0..<2 { breaker.recordFailure(at: t0.advanced(by: .seconds(second))) }
        #expect(breaker.state == .closed)
        breaker.recordFailure(at: t0.advanced(by: .seconds(2)))
        #expect(breaker.state == .open(until: t0.advanced(by: .seconds(32))))
        #expect(!breaker.isAvailable(at: t0.advanced(by: .seconds(31))))
        let acquired1 = breaker.acquire(at: t0.advanced(by: .seconds(31)))
        #expect(!acquired1)
        // After the cool-down exactly one probe gets through.
        let acquired2 = breaker.acquire(at: t0.advanced(by: .seconds(32)))
        #expect(acquired2)
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        let acquired3 = breaker.acquire(at: t0.advanced(by: .seconds(33)))
        #expect(!acquired3)
        breaker.recordSuccess(at: t0.advanced(by: .seconds(33)))
        #expect(breaker.state == .closed)
    }

    @Test func aFailedProbeReopens() {
        var breaker = CircuitBreaker(policy: .init(consecutiveFailures: 1, openDuration: .seconds(10)))
        breaker.recordFailure(at: t0)
        let acquired4 = breaker.acquire(at: t0.advanced(by: .seconds(10)))
        #expect(acquired4)
        breaker.recordFailure(at: t0.advanced(by: .seconds(11)))
        #expect(breaker.state == .open(until: t0.advanced(by: .seconds(21))))
    }

    @Test func opensOnFailureRateInTheWindow() {
        var breaker = CircuitBreaker(policy: .init(consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 10, window: .seconds(30)))
        // Alternate success and failure: never 100 in a row, but 50 % of 10 calls.
        for call in 0..<9 {
            let at = t0.advanced(by: .milliseconds(call * 100))
            if call.isMultiple(of: 2) { breaker.recordSuccess(at: at) } else { breaker.recordFailure(at: at) }
        }
        #expect(breaker.state == .closed)
        breaker.recordFailure(at: t0.advanced(by: .seconds(1)))
        #expect(breaker.state != .closed)
    }

    @Test func oldOutcomesLeaveTheWindow() {
        var breaker = CircuitBreaker(policy: .init(consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 4, window: .seconds(10)))
        breaker.recordFailure(at: t0)
        breaker.recordFailure(at: t0)
        breaker.recordSuccess(at: t0)  // resets the run, keeps the rate
        // 20 s later the two failures are out of the window: 1 failure in 4 calls is 25 %.
        let later = t0.advanced(by: .seconds(20))
        breaker.recordSuccess(at: later)
        breaker.recordSuccess(at: later)
        breaker.recordSuccess(at: later)
        breaker.recordFailure(at: later)
        #expect(breaker.state == .closed)
    }

    @Test func healthRegistryUsesTheInjectedClock() {
        let clock = ManualClock()
        let health = DeploymentHealth(policy: .init(consecutiveFailures: 2, openDuration: .seconds(5)), now: { clock.now })
        for _ in 0..<2 {
            #expect(health.begin("a", estimatedTokens: 10))
            health.end("a", outcome: .failure)
        }
        #expect(!health.snapshot("a").available)
        #expect(!health.begin("a", estimatedTokens: 10))
        clock.advance(.seconds(5))
        #expect(health.snapshot("a").available)
        #expect(health.begin("a", estimatedTokens: 10))
        #expect(!health.begin("a", estimatedTokens: 10))  // one probe at a time
        health.end("a", outcome: .success(latencyMs: 100, ttftMs: 20, tokens: 10))
        #expect(health.breakerState("a") == .closed)
        #expect(health.snapshot("a").latencyMs == 100)
        health.end("a", outcome: .neutral)
        #expect(health.snapshot("a").inFlight == 0)
    }

    @Test func requestAndTokenWindowsSlide() {
        let clock = ManualClock()
        let health = DeploymentHealth(now: { clock.now })
        for _ in 0..<3 {
            _ = health.begin("a", estimatedTokens: 100)
            health.end("a", outcome: .success(latencyMs: 1, ttftMs: nil, tokens: 100))
        }
        #expect(health.snapshot("a").requestsLastMinute == 3 && health.snapshot("a").tokensLastMinute == 300)
        clock.advance(.seconds(61))
        #expect(health.snapshot("a").requestsLastMinute == 0 && health.snapshot("a").tokensLastMinute == 0)
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func backoffGrowsWithJitterAndHonoursRetryAfter() {
        let policy = RetryPolicy(attempts: 4, backoff: .milliseconds(200), maxBackoff: .seconds(1))
        #expect(policy.delay(beforeRetry: 1, random: 0) == .milliseconds(100))
        #expect(policy.delay(beforeRetry: 1, random: 1) == .milliseconds(200))
        #expect(policy.delay(beforeRetry: 2, random: 1) == .milliseconds(400))
        #expect(policy.delay(beforeRetry: 5, random: 1) == .seconds(1))  // capped
        #expect(policy.delay(beforeRetry: 1, retryAfter: .milliseconds(700), random: 0) == .milliseconds(700))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(30), random: 0) == .seconds(1))
        #expect(RetryPolicy.parseRetryAfter("2") == .seconds(2))
        #expect(RetryPolicy.parseRetryAfter("0.5") == .milliseconds(500))
    }

    /// Upstream headers are hostile: every form RFC 9110 allows is read, everything else is ignored
    /// or clamped, and nothing traps (`inf`, `1e17` and `1e400` used to).
    @Test func retryAfterIsParsedSafely() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == .seconds(30))  // IMF-fixdate
        #expect(RetryPolicy.parseRetryAfter("Wednesday, 21-Oct-15 07:28:10 GMT", now: now) == .seconds(10))  // RFC 850
        #expect(RetryPolicy.parseRetryAfter("Wed Oct 21 07:28:05 2015", now: now) == .seconds(5))  // asctime
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == .zero)  // in the past
        #expect(RetryPolicy.parseRetryAfter(nil, milliseconds: "250") == .milliseconds(250))
        #expect(RetryPolicy.parseRetryAfter("9", milliseconds: "1500") == .milliseconds(1500))  // -ms wins
        for absurd in ["1e17", "99999999999999999999999", "3601"] {
            #expect(RetryPolicy.parseRetryAfter(absurd) == RetryAfter.maximum, "\(absurd)")
        }
        for junk in ["inf", "-inf", "nan", "1e400", "-5", "-0.5", "", "  ", "soon", "0x10", "1,5", String(repeating: "9", count: 100)] {
            #expect(RetryPolicy.parseRetryAfter(junk) == nil, "\(junk)")
            #expect(RetryPolicy.parseRetryAfter(nil, milliseconds: junk) == nil, "ms \(junk)")
        }
        #expect(RetryPolicy.parseRetryAfter(nil, milliseconds: "1e300") == RetryAfter.maximum)
        #expect(RetryAfter.headerValue(.milliseconds(1500)) == "2" && RetryAfter.headerValue(.seconds(3)) == "3")
        // Whatever the upstream said, the wait never exceeds the policy's cap.
        let policy = RetryPolicy(attempts: 3, backoff: .milliseconds(10), maxBackoff: .milliseconds(200))
        #expect(policy.delay(beforeRetry: 1, retryAfter: RetryPolicy.parseRetryAfter("1e17"), random: 1) == .milliseconds(200))
    }
}
