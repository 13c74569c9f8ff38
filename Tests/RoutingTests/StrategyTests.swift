import Testing

@testable import Routing

/// A seeded generator so strategy tests are repeatable.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Strategies")
struct StrategyTests {
    var random = SeededGenerator(state: 42)

    func names(_ list: [DeploymentSnapshot]) -> [String] { list.map(\.name) }

    @Test mutating func priorityKeepsConfigOrderAndSkipsOpenBreakers() {
        let candidates = [
            DeploymentSnapshot(name: "a", index: 0, available: false), DeploymentSnapshot(name: "b", index: 1),
            DeploymentSnapshot(name: "c", index: 2),
        ]
        let (ordered, excluded) = StrategyOrdering.order(candidates, by: .priority, stream: false, estimatedTokens: 0, using: &random)
        #expect(names(ordered) == ["b", "c"])
        #expect(excluded == [Exclusion(deployment: "a", reason: "circuit breaker open")])
    }

    @Test mutating func weightedFollowsTheWeights() {
        let candidates = [DeploymentSnapshot(name: "a", index: 0, weight: 1), DeploymentSnapshot(name: "b", index: 1, weight: 3)]
        var firsts: [String: Int] = [:]
        let draws = 20_000
        for _ in 0..<draws {
            let (ordered, _) = StrategyOrdering.order(candidates, by: .weighted, stream: false, estimatedTokens: 0, using: &random)
            firsts[ordered[0].name, default: 0] += 1
            #expect(ordered.count == 2)
        }
        // Expected share of b: 0.75; binomial sd at n=20k is ~0.003, so ±0.02 is > 6 sd.
        let share = Double(firsts["b", default: 0]) / Double(draws)
        #expect(abs(share - 0.75) < 0.02, "b first in \(share)")
    }

    @Test mutating func leastBusyPicksTheFewestInFlight() {
        let candidates = [
            DeploymentSnapshot(name: "a", index: 0, inFlight: 5), DeploymentSnapshot(name: "b", index: 1, inFlight: 1),
            DeploymentSnapshot(name: "c", index: 2, inFlight: 3),
        ]
        let result = StrategyOrdering.order(candidates, by: .leastBusy, stream: false, estimatedTokens: 0, using: &random)
        #expect(names(result.ordered) == ["b", "c", "a"])
    }

    @Test mutating func lowestCostSortsByEstimatedCost() {
        let candidates = [
            DeploymentSnapshot(name: "a", index: 0, estimatedCost: 0.03), DeploymentSnapshot(name: "b", index: 1, estimatedCost: 0.001),
            DeploymentSnapshot(name: "c", index: 2, estimatedCost: 0.01),
        ]
        let result = StrategyOrdering.order(candidates, by: .lowestCost, stream: false, estimatedTokens: 0, using: &random)
        #expect(names(result.ordered) == ["b", "c", "a"])
    }

    @Test mutating func leastLatencyPrefersTheFasterOfTwoChoicesAndUsesTTFTForStreams() {
        let two = [
            DeploymentSnapshot(name: "slow", index: 0, latencyMs: 900, ttftMs: 50),
            DeploymentSnapshot(name: "fast", index: 1, latencyMs: 100, ttftMs: 400),
        ]
        let plain = StrategyOrdering.order(two, by: .leastLatency, stream: false, estimatedTokens: 0, using: &random)
        let streamed = StrategyOrdering.order(two, by: .leastLatency, stream: true, estimatedTokens: 0, using: &random)
        #expect(plain.ordered.first?.name == "fast")
        #expect(streamed.ordered.first?.name == "slow")
        // With many deployments the slowest is never first: it loses every pairwise comparison.
        let many = (0..<5).map { DeploymentSnapshot(name: "d\($0)", index: $0, latencyMs: Double(100 * ($0 + 1))) }
        var counts: [String: Int] = [:]
        for _ in 0..<2000 {
            let result = StrategyOrdering.order(many, by: .leastLatency, stream: false, estimatedTokens: 0, using: &random)
            counts[result.ordered[0].name, default: 0] += 1
        }
        #expect(counts["d4"] == nil)
        #expect(counts["d0", default: 0] > counts["d1", default: 0] && counts["d1", default: 0] > counts["d3", default: 0])
    }

    @Test mutating func usageHeadroomDropsDeploymentsAtTheirLimits() {
        let candidates = [
            DeploymentSnapshot(name: "full", index: 0, requestsLastMinute: 10, rpmLimit: 10),
            DeploymentSnapshot(name: "tokens", index: 1, tokensLastMinute: 9_500, tpmLimit: 10_000),
            DeploymentSnapshot(name: "half", index: 2, requestsLastMinute: 5, rpmLimit: 10),
            DeploymentSnapshot(name: "free", index: 3),
        ]
        let (ordered, excluded) = StrategyOrdering.order(candidates, by: .usageHeadroom, stream: false, estimatedTokens: 1_000, using: &random)
        #expect(names(ordered) == ["free", "half"])
        #expect(Set(excluded.map(\.deployment)) == ["full", "tokens"])
    }
}
