import Testing

@testable import Routing

@Suite("Experiment assignment")
struct ExperimentTests {
    let experiment = Experiment(name: "reply", variants: [
        .init(name: "control", target: "a", weight: 1), .init(name: "treatment", target: "b", weight: 3),
    ])

    @Test func theSameUnitAlwaysGetsTheSameVariant() {
        for index in 0..<200 {
            let unit = Experiment.Unit.user("user-\(index)")
            let first = experiment.variant(for: unit)
            #expect((0..<5).allSatisfy { _ in experiment.variant(for: unit) == first })
            // A copy (a restart, another replica) agrees: nothing depends on the process.
            let copy = Experiment(name: "reply", variants: experiment.variants)
            #expect(copy.variant(for: unit) == first)
        }
    }

    /// Fixed points of the hash (FNV-1a then splitmix64's finaliser, recomputed independently in
    /// Python): it must not change between releases, or every user would switch arm on upgrade.
    @Test func theHashIsStable() {
        #expect(Experiment.unitInterval("reply\u{1F}user:alice") == 0.36163221857302763)
        #expect(Experiment.unitInterval("reply\u{1F}user:bob") == 0.2942172727870537)
        #expect(Experiment.unitInterval("reply\u{1F}episode:ep-1") == 0.6565403943824742)
        #expect(Experiment.unitInterval("") == 0.9576734252420561)
        // alice: 0.3616 × total weight 4 = 1.45, past the control's 1: the treatment.
        #expect(experiment.variant(for: .user("alice")).name == "treatment")
        #expect(experiment.variant(for: .user("bob")).name == "treatment")
    }

    /// 10,000 users split 1:3: the counts are within a chi-square bound (df 1, p = 0.001: 10.83),
    /// deterministic because the hash is.
    @Test func shareFollowsTheWeights() {
        var counts = ["control": 0, "treatment": 0]
        for index in 0..<10_000 { counts[experiment.variant(for: .user("u\(index)")).name, default: 0] += 1 }
        let expected = ["control": 2_500.0, "treatment": 7_500.0]
        let chiSquare = expected.reduce(0.0) { sum, entry in
            let observed = Double(counts[entry.key] ?? 0)
            return sum + (observed - entry.value) * (observed - entry.value) / entry.value
        }
        #expect(chiSquare < 10.83, "\(counts)")

        let three = Experiment(name: "three", variants: [.init(name: "x", target: "a", weight: 1), .init(name: "y", target: "b", weight: 1), .init(name: "z", target: "c", weight: 2)])
        var split = ["x": 0, "y": 0, "z": 0]
        for index in 0..<10_000 { split[three.variant(for: .episode("ep-\(index)")).name, default: 0] += 1 }
        let chi = [("x", 2_500.0), ("y", 2_500.0), ("z", 5_000.0)].reduce(0.0) { sum, entry in
            let observed = Double(split[entry.0] ?? 0)
            return sum + (observed - entry.1) * (observed - entry.1) / entry.1
        }
        #expect(chi < 13.82, "\(split)")  // df 2, p = 0.001
    }

    @Test func zeroWeightVariantsGetNothingAndUnitsAreKeyedByKind() {
        let paused = Experiment(name: "p", variants: [.init(name: "off", target: "a", weight: 0), .init(name: "on", target: "b", weight: 2)])
        #expect((0..<500).allSatisfy { paused.variant(for: .request("req_\($0)")).name == "on" })
        #expect(Experiment.Unit.user("x").key != Experiment.Unit.episode("x").key)
        // Different experiments draw independently: the same user is not always in the same position.
        let other = Experiment(name: "other", variants: experiment.variants)
        let differing = (0..<1_000).filter { experiment.variant(for: .user("u\($0)")) != other.variant(for: .user("u\($0)")) }.count
        #expect(differing > 100)
    }
}
