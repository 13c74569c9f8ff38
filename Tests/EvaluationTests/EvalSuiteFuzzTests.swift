import Foundation
import Testing

@testable import Evaluation

/// Seeded mutations of a valid suite: every one parses or fails with an `EvalSuiteError`; none traps.
@Suite struct EvalSuiteFuzzTests {
    static let seedSuite = """
        description: fuzz
        prompts: ["Q {{a}}", [{role: user, content: "{{b}}"}]]
        providers: [openai:chat:m, {id: n, label: N, config: {temperature: 0.5, max_tokens: 10, tools: []}}]
        defaultTest: {assert: [{type: contains, value: x, weight: 2, metric: m}], options: {provider: j}}
        tests:
          - {vars: {a: [1, 2], b: x}, threshold: 0.5, assert: [{type: not-regex, value: "^a"}, {type: similar, value: q, threshold: 0.8}]}
          - {description: d, vars: {a: 1e5, b: null}, metadata: {source: s}}
        evaluateOptions: {maxConcurrency: 3, repeat: 2}
        """

    static let pieces = [
        "", "-", ":", "{", "}", "[", "]", "\"", "'", "1e309", "-1", "nan", ".inf", "null", "~", "&a", "*a", "!!binary", "\t", "\n", "  ",
        "{{", "}}", "file://", "not-", "type:", "threshold: 1e400", "weight: -5", "\u{0}", "é", "🙂", "%", "#",
    ]

    @Test func mutatedSuitesNeverTrap() throws {
        var generator = SplitMix64(seed: 2_104)
        let folder = FileManager.default.temporaryDirectory
        var parsed = 0
        var refused = 0
        for _ in 0..<3_000 {
            var text = Array(Self.seedSuite)
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0...text.count, using: &generator)
                switch Int.random(in: 0...2, using: &generator) {
                case 0: text.insert(contentsOf: Self.pieces.randomElement(using: &generator)!, at: position)
                case 1: if position < text.count { text.remove(at: position) }
                default:
                    let end = min(text.count, position + Int.random(in: 1...20, using: &generator))
                    text.removeSubrange(position..<end)
                }
            }
            do {
                let suite = try EvalSuite.parse(String(text), file: "fuzz.yaml", baseDirectory: folder)
                _ = suite.cellCount
                parsed += 1
            } catch is EvalSuiteError {
                refused += 1
            }
        }
        #expect(parsed > 100 && refused > 100)  // the mutations exercise both paths
    }
}
