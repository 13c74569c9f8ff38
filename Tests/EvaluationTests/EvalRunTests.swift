import Evaluation
import Testing

@Suite struct EvalRunTests {
    @Test func percentilesUseNearestRank() {
        #expect(EvalProviderSummary.percentile([], 0.5) == nil)
        #expect(EvalProviderSummary.percentile([10, 20, 30, 40], 0.5) == 20)
        #expect(EvalProviderSummary.percentile([10, 20, 30, 40], 0.95) == 40)
    }
}
