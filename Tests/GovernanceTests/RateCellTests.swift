import Foundation
import Synchronization
import Testing

@testable import Governance
import Storage
import SwitchyardCore

@Suite struct RateCellTests {
    @Test func aFullMinuteMayComeAsOneBurstAndThenRefillsAtTheSteadyRate() {
        var cell = RateCell()
        var admitted = 0
        for _ in 0..<60 where cell.admit(1, limit: 30, now: 100).admitted { admitted += 1 }
        #expect(admitted == 30)
        // The 31st waits one interval (60 s / 30 = 2 s), and is told so.
        let refused = cell.admit(1, limit: 30, now: 100)
        #expect(!refused.admitted)
        #expect(abs(refused.status.retryAfterSeconds - 2) < 1e-9)
        #expect(refused.status.remaining == 0)
        #expect(abs(refused.status.resetSeconds - 60) < 1e-9)
        #expect(!cell.admit(1, limit: 30, now: 101.9).admitted)
        #expect(cell.admit(1, limit: 30, now: 102).admitted)
        #expect(!cell.admit(1, limit: 30, now: 102).admitted)
        // After a quiet minute the whole allowance is back.
        let later = cell.status(limit: 30, now: 200)
        #expect(later.remaining == 30 && later.resetSeconds == 0)
    }

    @Test func weightsCountAsThatManyUnitsAndATooHeavyRequestIsRefusedWithoutSpendingAnything() {
        var cell = RateCell()
        #expect(cell.admit(600, limit: 1000, now: 0).admitted)
        #expect(cell.status(limit: 1000, now: 0).remaining == 400)
        let refused = cell.admit(500, limit: 1000, now: 0)
        #expect(!refused.admitted)
        // 100 more tokens must drain first: 100 × 60 ms.
        #expect(abs(refused.status.retryAfterSeconds - 6) < 1e-9)
        #expect(cell.status(limit: 1000, now: 0).remaining == 400)
        #expect(cell.admit(400, limit: 1000, now: 0).admitted)
    }

    @Test func extremeValuesNeitherTrapNorAdmitTooMuch() {
        var cell = RateCell()
        #expect(!cell.admit(Int.max, limit: 10, now: 0).admitted)
        #expect(cell.admit(1, limit: 0, now: 0).admitted)  // a limit below 1 counts as 1 per minute
        #expect(!cell.admit(1, limit: 0, now: 0).admitted)
        // Past Int's range in Double, and a clock gone wrong: answers, never traps.
        var huge = RateCell()
        #expect(huge.admit(1, limit: Int.max, now: 0).admitted)
        #expect(huge.status(limit: Int.max, now: 0).remaining > 0)
        #expect(!huge.admit(1, limit: 10, now: .infinity).admitted)
        #expect(!huge.admit(1, limit: 10, now: .nan).admitted)
    }

    @Test(arguments: [(0.0, "0s"), (0.0171, "18ms"), (1.0, "1s"), (1.25, "1.3s"), (59.99, "60s"), (61.0, "1m1s"), (360.0, "6m0s"), (Double.nan, "0s")])
    func resetDurationsAreWrittenAsOpenAIWritesThem(seconds: Double, text: String) {
        #expect(RateLimitDuration.format(seconds) == text)
    }
}

@Suite struct GovernorAdmissionTests {
    static func key(_ name: String, rpm: Int? = nil, tpm: Int? = nil, team: String? = nil, budget: Budget? = nil) -> StoredKey {
        Governor.configKey(
            secret: "sk-\(name)", name: name, role: .member, models: nil, tools: nil, groups: [], collectionWrite: nil, budget: budget,
            rpm: rpm, tpm: tpm, tags: [:])
    }

    /// 60 requests at once against `rpm: 30`, from 60 threads: exactly 30 get through.
    @Test func sixtyConcurrentRequestsAgainstThirtyPerMinuteAdmitExactlyThirty() async {
        let frozen = ContinuousClock.now
        let key = Self.key("burst", rpm: 30)
        let governor = Governor(configKeys: [key], persistence: nil, clock: { frozen })
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<60 {
                group.addTask {
                    do {
                        let admission = try await governor.admit(key, tokens: 10)
                        return admission.requests?.limit == 30 ? "admitted" : "admitted without status"
                    } catch let limited as Governor.RateLimited {
                        return limited.retryAfterSeconds > 0 ? "refused with a wait" : "refused"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
        #expect(outcomes == ["admitted": 30, "refused with a wait": 30])
    }

    @Test func aRequestMustFitTheKeysAndTheTeamsLimitsAndIsCountedOnlyWhenBothAdmit() async throws {
        let frozen = ContinuousClock.now
        let persistence = try GovernanceStore(path: ":memory:")
        var key = Self.key("member", rpm: 100)
        key.team = "search"
        let governor = Governor(configKeys: [key], persistence: persistence, clock: { frozen })
        _ = try await governor.createTeam(StoredTeam(name: "search", rpm: 2), actor: "test")
        _ = try await governor.admit(key, tokens: 1)
        let second = try await governor.admit(key, tokens: 1)
        #expect(second.requests?.limit == 2 && second.requests?.remaining == 0)  // the tighter of the two
        await #expect(throws: Governor.RateLimited.self) { try await governor.admit(key, tokens: 1) }
        // The team's refusal did not count against the key.
        #expect(governor.rateStatus(subject: "key:" + key.id, rpm: 100)?.remaining == 98)
    }

    @Test func tokensPerMinuteCountThePromptEstimateAndTheOutputLimit() async {
        let frozen = ContinuousClock.now
        let key = Self.key("tokens", tpm: 1000)
        let governor = Governor(configKeys: [key], persistence: nil, clock: { frozen })
        let first = try? await governor.admit(key, tokens: 700)
        #expect(first?.tokens?.remaining == 300)
        await #expect(throws: Governor.RateLimited.self) { try await governor.admit(key, tokens: 400) }
        let third = try? await governor.admit(key, tokens: 300)
        #expect(third != nil)
    }
}
