import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

/// Seeded random inputs for the reader and the CSV writer: a failure prints the seed that reproduces it.
@Suite struct EvalReportMutationTests {
    /// SplitMix64: small, seedable, the same sequence on every platform.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var value = state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
    }

    static let replacements: [JSONValue] = [
        .null, true, 0, -1, 3, 1.5, .double(1e308), "", "x", "=1+1", [], [1, "a"], [:], ["id": 1], ["raw": ["a": 1]],
    ]

    /// `value` with one node, picked at random, replaced by a value of another shape (or removed).
    static func mutate(_ value: JSONValue, using generator: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch value {
        case .object(var object) where !object.isEmpty && (depth < 6 && Int.random(in: 0..<4, using: &generator) > 0):
            let key = object.keys.sorted()[Int.random(in: 0..<object.count, using: &generator)]
            if Bool.random(using: &generator) && Int.random(in: 0..<3, using: &generator) == 0 {
                object[key] = nil
            } else {
                object[key] = mutate(object[key] ?? .null, using: &generator, depth: depth + 1)
            }
            return .object(object)
        case .array(var array) where !array.isEmpty && (depth < 6 && Int.random(in: 0..<4, using: &generator) > 0):
            let index = Int.random(in: 0..<array.count, using: &generator)
            array[index] = mutate(array[index], using: &generator, depth: depth + 1)
            return .array(array)
        default:
            return replacements[Int.random(in: 0..<replacements.count, using: &generator)]
        }
    }

    @Test func mutatedResultsFilesReadOrFailWithAPath() throws {
        let sources = [
            try #require(JSONValue.parse(EvalReportReaderTests.promptfooFile)),
            EvalReport.json(ReportFixtures.run()),
        ]
        var read = 0, refused = 0
        for seed in UInt64(1)...300 {
            var generator = SeededGenerator(state: seed)
            var value = sources[Int(seed) % sources.count]
            for _ in 0..<Int.random(in: 1...3, using: &generator) { value = Self.mutate(value, using: &generator) }
            do {
                let records = try EvalReport.readResults(Data(value.jsonString().utf8))
                #expect(records.allSatisfy { $0.testIdx >= 0 && $0.promptIdx >= 0 && $0.score.isFinite && $0.cost.isFinite }, "seed \(seed)")
                read += 1
            } catch let error as EvalReportError {
                #expect(!error.message.isEmpty, "seed \(seed)")
                refused += 1
            } catch {
                Issue.record("seed \(seed): \(error) is not an EvalReportError")
            }
        }
        // Both outcomes were exercised, so the loop tested something.
        #expect(read > 50 && refused > 50, "read \(read), refused \(refused)")
    }

    @Test func anyFieldSurvivesTheCSVRoundTrip() {
        let alphabet: [Character] = ["a", "Z", "0", "-", "+", "=", "@", "\t", "\r", "\n", "\r\n", ",", "\"", "'", " ", "é", "🙂", "\u{200B}", "\0"]
        for seed in UInt64(1)...400 {
            var generator = SeededGenerator(state: seed)
            let fields = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            }
            let parsed = parseCSV(EvalReport.csvLine(fields))
            let expected = fields.map { EvalReport.defusingFormula($0.replacingOccurrences(of: "\0", with: "\u{FFFD}")) }
            #expect(parsed == [expected], "seed \(seed): \(fields)")
            for field in parsed.first ?? [] {
                let first = field.unicodeScalars.first
                #expect(first != "=" && first != "@" && first != "\t" && first != "\r", "seed \(seed): \(field)")
            }
        }
    }
}
