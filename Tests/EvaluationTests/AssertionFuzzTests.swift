import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

/// Seeded random inputs for the parsers and readers that take text from suites, answers and judges: none may trap,
/// every error names its field, and grading always yields a score in [0, 1]. Bounded, so it runs in every test pass.
@Suite struct AssertionFuzzTests {
    static let pieces = [
        "not-", "contains", "icontains-any", "regex", "is-json", "similar", "llm-rubric", "cost", "(", ")", "0.5", "1e309", ":", ",", "\"",
        "\\", "{", "}", "[", "]", "{{", "}}", "output", "Y", "N", "\n", " ", "pass", "score", "true", "-", "é", "🙂", "```json", "(a+)+",
    ]
    static let types = Array(Assertion.supportedTypes) + ["unknown", "javascript", "", "not-"]

    static func text(_ generator: inout SplitMix64, maximumPieces: Int = 12) -> String {
        (0..<Int(generator.next() % UInt64(maximumPieces + 1))).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
    }

    static func value(_ generator: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch generator.next() % (depth > 2 ? 6 : 8) {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2: return .int(Int64(bitPattern: generator.next()) % 1000)
        case 3: return .double([0.5, -1, .nan, .infinity, -.infinity, 1e308, 0][Int(generator.next() % 7)])
        case 4, 5: return .string(text(&generator))
        case 6: return .array((0..<Int(generator.next() % 4)).map { _ in value(&generator, depth: depth + 1) })
        default:
            let keys = ["type", "role", "content", "id", "name", "value"]
            let entries = (0..<Int(generator.next() % 4)).map { _ in (keys[Int(generator.next() % 6)], value(&generator, depth: depth + 1)) }
            return .object(Dictionary(entries, uniquingKeysWith: { first, _ in first }))
        }
    }

    @Test func assertionObjects() async throws {
        var generator = SplitMix64(seed: 21)
        let fields = ["type", "value", "threshold", "weight", "metric", "provider", "rubricPrompt"]
        for index in 0..<1_500 {
            var object: [String: JSONValue] = ["type": .string(Self.types[Int(generator.next() % UInt64(Self.types.count))])]
            for field in fields.dropFirst() where generator.next() % 3 == 0 { object[field] = Self.value(&generator) }
            let field = "tests[\(index)].assert[0]"
            do {
                let assertion = try Assertion.parse(.object(object), field: field)
                #expect(assertion.weight.isFinite && assertion.weight >= 0)
                #expect(assertion.threshold?.isFinite ?? true)
                let judge = ScriptedJudge(replying: Self.text(&generator))
                let context = Fixture.context(Self.text(&generator), vars: ["output": "x"], judge: judge)
                let result = await AssertionGrader.grade(assertion, context: context)
                #expect(result.score >= 0 && result.score <= 1, "\(object)")
            } catch {
                #expect(error.message.hasPrefix(field), "\(error.message)")
            }
        }
    }

    @Test func expectedColumnText() throws {
        var generator = SplitMix64(seed: 22)
        for _ in 0..<3_000 {
            let text = Self.text(&generator)
            do {
                let assertion = try Assertion.fromExpected(text, field: "row 1 __expected")
                #expect(Assertion.supportedTypes.contains(assertion.type))
            } catch {
                #expect(error.message.hasPrefix("row 1 __expected"), "\(error.message)")
            }
        }
    }

    @Test func judgeRepliesListsAndAnswers() {
        var generator = SplitMix64(seed: 23)
        for _ in 0..<3_000 {
            let text = Self.text(&generator, maximumPieces: 30)
            if let reply = ModelGradedAssertions.parseRubricReply(text) { #expect(reply.score >= 0 && reply.score <= 1) }
            _ = ModelGradedAssertions.parseClosedQAReply(text)
            _ = TextAssertions.commaSeparated(text)
            _ = JSONAssertions.jsonCandidates(in: text)
            _ = JSONAssertions.nestingDepth(text)
            _ = OutputText.quoted(text, limit: Int(generator.next() % 5))
        }
    }

    @Test func labelsLines() {
        var generator = SplitMix64(seed: 24)
        for _ in 0..<1_000 {
            var object: [String: JSONValue] = [:]
            for key in ["output", "rubric", "label", "id", "prompt"] where generator.next() % 4 != 0 { object[key] = Self.value(&generator) }
            do {
                _ = try JudgeCalibration.parse(jsonLines: JSONValue.object(object).jsonString(), source: "l.jsonl")
            } catch {
                #expect(error.message.hasPrefix("l.jsonl"), "\(error.message)")
            }
        }
    }
}
