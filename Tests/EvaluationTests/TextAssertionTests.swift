import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct TextAssertionTests {
    @Test(arguments: [
        // (type, value, output, passes)
        ("equals", "Paris", "Paris", true),
        ("equals", "Paris", "Paris.", false),
        ("contains", "Paris", "The capital is Paris.", true),
        ("contains", "paris", "The capital is Paris.", false),
        ("icontains", "paris", "The capital is PARIS.", true),
        ("icontains", "lyon", "The capital is Paris.", false),
        ("starts-with", "Yes", "Yes, it is.", true),
        ("starts-with", "Yes", "No. Yes.", false),
        ("regex", "\\d{3}-\\d{4}", "Call 555-1234 now", true),
        ("regex", "^\\d+$", "12a", false),
    ])
    func scalarTypes(type: String, value: String, output: String, passes: Bool) async throws {
        let result = try await Fixture.grade(["type": .string(type), "value": .string(value)], output)
        #expect(result.pass == passes, "\(result.reason)")
        #expect(result.score == (passes ? 1 : 0))
        let negated = try await Fixture.grade(["type": .string("not-" + type), "value": .string(value)], output)
        #expect(negated.pass == !passes, "\(negated.reason)")
        #expect(negated.score == (passes ? 0 : 1))
    }

    @Test(arguments: [
        ("contains-any", JSONValue.array(["Lyon", "Paris"]), "It is Paris", true),
        ("contains-any", .array(["Lyon", "Nice"]), "It is Paris", false),
        ("contains-all", .array(["Paris", "France"]), "Paris, France", true),
        ("contains-all", .array(["Paris", "Germany"]), "Paris, France", false),
        ("icontains-any", .string("lyon, paris"), "It is PARIS", true),
        ("icontains-any", .string("lyon, nice"), "It is PARIS", false),
        ("icontains-all", .string("paris,france"), "PARIS, FRANCE", true),
        ("icontains-all", .string("paris, spain"), "PARIS, FRANCE", false),
        ("contains-any", .string("\"Paris, France\", Lyon"), "Paris, France", true),
        ("contains-all", .string("\"Paris, France\", Lyon"), "Paris, France", false),
    ])
    func listTypes(type: String, value: JSONValue, output: String, passes: Bool) async throws {
        let result = try await Fixture.grade(["type": .string(type), "value": value], output)
        #expect(result.pass == passes, "\(result.reason)")
        let negated = try await Fixture.grade(["type": .string("not-" + type), "value": value], output)
        #expect(negated.pass == !passes, "\(negated.reason)")
    }

    @Test func reasonsSayWhatWasExpectedAndFound() async throws {
        let failed = try await Fixture.grade(["type": "contains", "value": "Paris"], "The capital is Lyon.")
        #expect(failed.reason.contains("expected the answer to contain \"Paris\""))
        #expect(failed.reason.contains("The capital is Lyon."))
        let negated = try await Fixture.grade(["type": "not-contains", "value": "Lyon"], "The capital is Lyon.")
        #expect(!negated.pass)
        #expect(negated.reason.contains("not to contain \"Lyon\""))
        let missing = try await Fixture.grade(["type": "contains-all", "value": ["Paris", "Berlin"]], "Paris only")
        #expect(missing.reason.contains("missing \"Berlin\""))
        #expect(!missing.reason.contains("missing \"Paris\""))
    }

    @Test func equalsSaysWhenOnlyWhitespaceDiffers() async throws {
        let result = try await Fixture.grade(["type": "equals", "value": "Paris"], "Paris\n")
        #expect(!result.pass)
        #expect(result.reason.contains("whitespace"))
    }

    @Test func equalsComparesObjectValuesAsJSON() async throws {
        let value: JSONValue = ["city": "Paris", "population": 2_100_000, "tags": ["capital"]]
        let same = try await Fixture.grade(["type": "equals", "value": value], #"{"tags": ["capital"], "population": 2100000.0, "city": "Paris"}"#)
        #expect(same.pass, "\(same.reason)")
        let different = try await Fixture.grade(["type": "equals", "value": value], #"{"city": "Lyon", "population": 2100000, "tags": ["capital"]}"#)
        #expect(!different.pass)
        let notJSON = try await Fixture.grade(["type": "equals", "value": value], "Paris")
        #expect(!notJSON.pass)
        #expect(notJSON.reason.contains("not JSON"))
        let list = try await Fixture.grade(["type": "equals", "value": [1, 2]], "[1, 2]")
        #expect(list.pass)
    }

    @Test func numericValuesCompareAsText() async throws {
        #expect(try await Fixture.grade(["type": "contains", "value": 42], "The answer is 42.").pass)
        #expect(try await Fixture.grade(["type": "equals", "value": 4.5], "4.5").pass)
    }

    @Test func valuesAreTemplatesOverTheVars() async throws {
        let vars: [String: JSONValue] = ["city": "Paris", "cities": ["Lyon", "Nice"], "country": ["name": "France"]]
        #expect(try await Fixture.grade(["type": "contains", "value": "{{ city }}"], "It is Paris", vars: vars).pass)
        #expect(!(try await Fixture.grade(["type": "contains", "value": "{{city}}"], "It is Lyon", vars: vars).pass))
        #expect(try await Fixture.grade(["type": "equals", "value": "{{ country.name | upper }}"], "FRANCE", vars: vars).pass)
        #expect(try await Fixture.grade(["type": "contains-any", "value": ["{{ city }}", "Berlin"]], "Paris!", vars: vars).pass)
        #expect(try await Fixture.grade(["type": "icontains-all", "value": "{{ cities[0] }}, {{ cities[1] }}"], "lyon and nice", vars: vars).pass)
        #expect(try await Fixture.grade(["type": "regex", "value": "^{{ city }}$"], "Paris", vars: vars).pass)
        #expect(try await Fixture.grade(["type": "starts-with", "value": "{{ city }}"], "Paris is", vars: vars).pass)
    }

    @Test func aBadPatternAfterRenderingFailsEvenWhenNegated() async throws {
        let vars: [String: JSONValue] = ["pattern": "(unclosed"]
        let result = try await Fixture.grade(["type": "regex", "value": "{{ pattern }}"], "anything", vars: vars)
        #expect(!result.pass)
        #expect(result.reason.contains("(unclosed"))
        #expect(result.reason.contains("not a valid regular expression"))
        let negated = try await Fixture.grade(["type": "not-regex", "value": "{{ pattern }}"], "anything", vars: vars)
        #expect(!negated.pass)
    }

    @Test func commaSeparatedListsFollowPromptfoo() throws {
        #expect(try TextAssertions.commaSeparated(" a , b,,c ").get() == ["a", "b", "c"])
        #expect(try TextAssertions.commaSeparated(#""x, y", z"#).get() == ["x, y", "z"])
        #expect(try TextAssertions.commaSeparated(#""say \"hi\"", "a""b""#).get() == [#"say "hi""#, #"a"b"#])
        #expect((try? TextAssertions.commaSeparated(#""open, b"#).get()) == nil)
        #expect((try? TextAssertions.commaSeparated(#""a" b"#).get()) == nil)
    }
}
