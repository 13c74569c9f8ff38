import Foundation
import Testing

@testable import SwitchyardCore

/// The statistics experiment reports stand on, against values computed once with SciPy 1.17
/// (`scipy.special.betainc`, `scipy.stats.t.cdf`, `scipy.stats.ttest_ind(equal_var=False)`).
@Suite("Significance tests")
struct SignificanceTests {
    @Test(arguments: [
        (2.5, 3.5, 0.4, 0.4869041915261176),
        (0.5, 0.5, 0.9, 0.7951672353008665),
        (10.0, 20.0, 0.3, 0.3640040810719437),
    ])
    func regularizedIncompleteBetaMatchesSciPy(a: Double, b: Double, x: Double, expected: Double) {
        #expect(abs(Statistics.regularizedIncompleteBeta(a: a, b: b, x: x) - expected) < 1e-12)
    }

    @Test func incompleteBetaEdgesAndBadInput() {
        #expect(Statistics.regularizedIncompleteBeta(a: 2, b: 3, x: 0) == 0)
        #expect(Statistics.regularizedIncompleteBeta(a: 2, b: 3, x: 1) == 1)
        #expect(Statistics.regularizedIncompleteBeta(a: 0, b: 3, x: 0.5).isNaN)
        #expect(Statistics.regularizedIncompleteBeta(a: 2, b: 3, x: .nan).isNaN)
        // Symmetry: I_x(a, b) = 1 − I_{1−x}(b, a).
        let left = Statistics.regularizedIncompleteBeta(a: 3.2, b: 1.7, x: 0.61)
        let right = Statistics.regularizedIncompleteBeta(a: 1.7, b: 3.2, x: 0.39)
        #expect(abs(left + right - 1) < 1e-13)
    }

    @Test(arguments: [
        (-2.0, 5.0, 0.050969739414929174),
        (1.5, 30.5, 0.9280521098829128),
        (0.3, 1.0, 0.5927735790777423),
    ])
    func studentTCDFMatchesSciPy(t: Double, df: Double, expected: Double) {
        #expect(abs(Statistics.studentTCDF(t, degreesOfFreedom: df) - expected) < 1e-12)
    }

    @Test func studentTCDFIsSymmetricAndBounded() {
        #expect(Statistics.studentTCDF(0, degreesOfFreedom: 7) == 0.5)
        #expect(Statistics.studentTCDF(.infinity, degreesOfFreedom: 3) == 1)
        #expect(Statistics.studentTCDF(-.infinity, degreesOfFreedom: 3) == 0)
        #expect(Statistics.studentTCDF(1, degreesOfFreedom: 0).isNaN)
        let t = 1.234
        #expect(abs(Statistics.studentTCDF(t, degreesOfFreedom: 12.5) + Statistics.studentTCDF(-t, degreesOfFreedom: 12.5) - 1) < 1e-14)
    }

    /// Welch's t-test on Wikipedia's two worked examples (there rounded; SciPy's full values here).
    @Test func welchTTestMatchesSciPy() throws {
        let a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
        let b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
        let first = try #require(Statistics.welchTTest(a, b))
        #expect(abs(first.statistic - -2.455356398286006) < 1e-10)
        #expect(abs(try #require(first.degreesOfFreedom) - 24.988529290231416) < 1e-9)
        #expect(abs(first.pValue - 0.021378001462866992) < 1e-10)

        let c = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8]
        let d = [21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8]
        let second = try #require(Statistics.welchTTest(c, d))
        #expect(abs(second.statistic - -1.5654335235985037) < 1e-10)
        #expect(abs(try #require(second.degreesOfFreedom) - 9.904741248650831) < 1e-9)
        #expect(abs(second.pValue - 0.14884169660532817) < 1e-10)
        // Swapping the arms flips the sign, not the p-value.
        let swapped = try #require(Statistics.welchTTest(d, c))
        #expect(abs(swapped.statistic + second.statistic) < 1e-12 && abs(swapped.pValue - second.pValue) < 1e-14)
    }

    @Test func welchTTestIsUndefinedWithoutDataOrVariance() {
        #expect(Statistics.welchTTest([1], [1, 2, 3]) == nil)
        #expect(Statistics.welchTTest([2, 2, 2], [2, 2, 2]) == nil)
        // One arm constant is fine: the other carries the variance.
        #expect(Statistics.welchTTest([2, 2, 2], [1, 2, 3]) != nil)
    }

    /// 45/100 against 60/100, pooled: z by hand, p from SciPy's normal survival function.
    @Test func twoProportionZTest() throws {
        let result = try #require(Statistics.twoProportionZTest(successesA: 45, totalA: 100, successesB: 60, totalB: 100))
        #expect(abs(result.statistic - -2.1239769762143657) < 1e-12)
        #expect(abs(result.pValue - 0.033672068856345855) < 1e-12)
        #expect(result.degreesOfFreedom == nil)
        #expect(Statistics.twoProportionZTest(successesA: 10, totalA: 10, successesB: 5, totalB: 5) == nil)  // pooled 1: no variance
        #expect(Statistics.twoProportionZTest(successesA: 1, totalA: 0, successesB: 1, totalB: 5) == nil)
        #expect(Statistics.twoProportionZTest(successesA: 7, totalA: 5, successesB: 1, totalB: 5) == nil)
    }

    @Test func percentilesInterpolateLikeNumPy() {
        let values = [15.0, 20, 35, 40, 50]
        #expect(Statistics.percentile(values, 0.5) == 35)
        #expect(Statistics.percentile(values, 0.95) == 48)  // numpy.percentile(values, 95)
        #expect(Statistics.percentile([7], 0.95) == 7)
        #expect(Statistics.percentile([], 0.5) == nil)
        #expect(Statistics.mean([]) == nil && Statistics.variance([3]) == nil)
        #expect(Statistics.variance([1, 2, 3, 4]) == 5.0 / 3.0)
    }
}

@Suite("Feedback values")
struct FeedbackValueTests {
    @Test func metricsAndEpisodeIDsAreChecked() {
        #expect(Feedback.isValidMetric("helpful") && Feedback.isValidMetric("rating:accuracy-v2.1_x"))
        #expect(!Feedback.isValidMetric("") && !Feedback.isValidMetric(String(repeating: "a", count: 65)))
        #expect(!Feedback.isValidMetric("has space") && !Feedback.isValidMetric("ünïcode") && !Feedback.isValidMetric("a/b"))
        #expect(Feedback.isValidEpisodeID("ep-1") && Feedback.isValidEpisodeID("conversation 42"))
        #expect(!Feedback.isValidEpisodeID("") && !Feedback.isValidEpisodeID("   ") && !Feedback.isValidEpisodeID(String(repeating: "e", count: 129)))
        #expect(!Feedback.isValidEpisodeID("tab\there") && !Feedback.isValidEpisodeID("é"))
    }

    @Test func scalingKeepsUnitValuesAndRescalesRatings() {
        #expect(FeedbackScale.normalize([.bool(true), .number(0.25), .bool(false)]) == [1, 0.25, 0])
        #expect(FeedbackScale.normalize([.number(1), .number(5), .number(3), .bool(true)]) == [0, 1, 0.5, 1])
        #expect(FeedbackScale.normalize([.number(4), .number(4)]) == [0.5, 0.5])
        #expect(FeedbackScale.normalize([.number(-2), .number(0)]) == [0, 1])
    }

    @Test func promptsAreCutAtEightKilobytesAtACharacterBoundary() throws {
        let long = String(repeating: "é", count: 5000)  // 10,000 bytes
        let cut = PromptCapture.cut(long)
        #expect(cut.utf8.count <= PromptCapture.maximumBytes && cut.hasSuffix(PromptCapture.cutMarker))
        #expect(cut.dropLast(PromptCapture.cutMarker.count).allSatisfy { $0 == "é" })
        #expect(PromptCapture.cut("short") == "short")
        let messages: [ChatMessage] = [.user("first"), .assistant("answer"), .user("second turn")]
        #expect(PromptCapture.capture(messages) == "second turn")
        #expect(PromptCapture.capture([.assistant("only")]) == nil)
    }

    @Test func feedbackRoundTripsThroughJSONWithItsType() throws {
        let feedback = Feedback(
            id: "fb_1", requestID: "req_1", episodeID: nil, metric: "helpful", value: .bool(true), comment: "good",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.123))
        let data = try JSONEncoder().encode(feedback)
        let json = try #require(JSONValue.parse(data))
        #expect(json["value"] == .bool(true) && json["object"] == "feedback" && json["episode_id"] == .null)
        #expect(json["created_at"]?.doubleValue == 1_700_000_000.123)
        let back = try JSONDecoder().decode(Feedback.self, from: data)
        #expect(back.value == .bool(true) && back.requestID == "req_1" && back.comment == "good")
        let rating = Feedback(id: "fb_2", requestID: nil, episodeID: "ep", metric: "rating", value: .number(4), createdAt: Date())
        #expect(try JSONValue.parse(JSONEncoder().encode(rating))?["value"] == .int(4))
    }
}
