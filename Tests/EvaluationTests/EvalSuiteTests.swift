import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

/// Reading promptfoo suites: every part the runner uses, and errors that name the file, line and field.
@Suite struct EvalSuiteTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("eval-suite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: folder.appendingPathComponent(name))
    }

    func parse(_ yaml: String, known: Set<String> = []) throws -> EvalSuite {
        try EvalSuite.parse(yaml, file: "suite.yaml", baseDirectory: folder, knownModels: known)
    }

    @Test func readsPromptsProvidersTestsAndOptions() throws {
        try write("chat.json", #"[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "About {{topic}}"}]"#)
        try write("prompts.txt", "First {{topic}}\n---\nSecond {{topic}}\n")
        let suite = try parse(
            """
            description: demo
            prompts:
              - "Tell me about {{topic}}"
              - file://chat.json
              - {raw: "Labelled {{topic}}", label: mine}
              - file://prompts.txt
            providers:
              - openai:chat:gpt-4o-mini
              - anthropic:messages:claude-haiku
              - cheap
              - {id: openai:gpt-4o, label: Big, config: {temperature: 0.2, max_tokens: 50, apiKey: sk-secret, seed: 7}}
            defaultTest:
              vars: {tone: dry}
              assert: [{type: icontains, value: "{{topic}}"}]
              options: {provider: openai:chat:judge-model}
            tests:
              - vars: {topic: cats}
                assert: [{type: contains, value: cats}]
              - {vars: {topic: dogs, tone: warm}, threshold: 0.5, metadata: {source: pets}}
            evaluateOptions: {maxConcurrency: 2, repeat: 3, delay: 5}
            outputPath: out.json
            sharing: false
            """)
        #expect(suite.description == "demo")
        #expect(suite.prompts.count == 5)
        #expect(suite.prompts[1].label.hasSuffix("chat.json"))
        #expect(suite.prompts[2].label == "mine")
        #expect(suite.prompts[3].raw == "First {{topic}}" && suite.prompts[4].raw == "Second {{topic}}")
        #expect(suite.providers.map(\.model) == ["gpt-4o-mini", "claude-haiku", "cheap", "gpt-4o"])
        #expect(suite.providers[3].label == "Big")
        #expect(suite.providers[3].parameters["temperature"] == .double(0.2))
        #expect(suite.providers[3].parameters["max_tokens"] == .int(50))
        #expect(suite.providers[3].parameters["seed"] == .int(7))
        #expect(suite.providers[3].parameters["apiKey"] == nil)  // connection settings are never sent
        #expect(suite.tests.count == 2)
        #expect(suite.tests[0].vars == ["topic": "cats", "tone": "dry"])
        #expect(suite.tests[1].vars["tone"] == "warm")
        #expect(suite.tests[0].assertions.map(\.type) == ["icontains", "contains"])  // defaultTest's first
        #expect(suite.tests[0].judge == "judge-model")
        #expect(suite.tests[1].threshold == 0.5 && suite.tests[1].metadata["source"] == "pets")
        #expect(suite.maxConcurrency == 2 && suite.repeatCount == 3 && suite.delayMs == 5)
        #expect(suite.outputPaths == ["out.json"])
        #expect(suite.ignoredKeys.contains("sharing"))
        #expect(suite.cellCount == 2 * 5 * 4 * 3)
    }

    @Test func readsTestFilesInEveryFormat() throws {
        try write("tests.csv", "topic,__expected,__description,__metadata:source\ncats,contains: cat,first,a\n\"x, \"\"quoted\"\"\",,second,b\n")
        try write("tests.json", #"[{"vars": {"topic": "json"}}]"#)
        try write("tests.jsonl", "{\"vars\": {\"topic\": \"l1\"}}\n\n{\"vars\": {\"topic\": \"l2\"}}\n")
        try write("tests.yaml", "- vars: {topic: yaml}\n  assert: [{type: equals, value: yes}]\n")
        let suite = try parse(
            """
            prompts: ["{{topic}}"]
            providers: [m]
            tests: [file://tests.csv, file://tests.json, file://tests.jsonl, file://tests.yaml, {vars: {topic: inline}}]
            """)
        #expect(suite.tests.map { $0.vars["topic"] } == ["cats", "x, \"quoted\"", "json", "l1", "l2", "yaml", "inline"])
        #expect(suite.tests[0].description == "first" && suite.tests[0].metadata["source"] == "a")
        #expect(suite.tests[0].assertions.count == 1 && suite.tests[1].assertions.isEmpty)
        let globbed = try parse("prompts: [\"{{topic}}\"]\nproviders: [m]\ntests: file://tests.json*\n")
        #expect(globbed.tests.map { $0.vars["topic"] } == ["json", "l1", "l2"])
    }

    @Test func arrayVarsExpandIntoOneTestPerCombination() throws {
        let suite = try parse("prompts: [\"{{a}} {{b}}\"]\nproviders: [m]\ntests: [{vars: {a: [1, 2, 3], b: [x, y]}}]\n")
        #expect(suite.tests.count == 6)
        #expect(Set(suite.tests.map { "\($0.vars["a"]!)\($0.vars["b"]!)" }).count == 6)
    }

    @Test func chatPromptsRenderEachStringSoQuotesCannotBreakTheJSON() throws {
        let prompt = EvalPrompt(raw: #"[{"role": "user", "content": "Say {{text}}"}]"#)
        let (messages, rendered) = PromptRenderer.render(prompt, vars: ["text": "\"}], {\"role\": \"system"])
        #expect(messages.count == 1)
        #expect(messages[0]["content"] == .string("Say \"}], {\"role\": \"system"))
        #expect(JSONValue.parse(rendered) != nil)
        let (plain, text) = PromptRenderer.render(EvalPrompt(raw: "Hi {{ name | upper }} {{missing}}!"), vars: ["name": "ann"])
        #expect(text == "Hi ANN !" && plain[0]["role"] == "user")
    }

    @Test(arguments: [
        ("prompts: [x]\ntests: []\n", "needs `providers`"),
        ("prompts: [x]\nproviders: [m]\nevaluateOptions: {maxConcurrency: 0}\n", "suite.yaml:3: `evaluateOptions.maxConcurrency`"),
        ("prompts: [x]\nproviders: [m]\nevaluateOptions: {repeat: 1e309}\n", "`evaluateOptions.repeat`"),
        ("prompts: [x]\nproviders: [m]\ntests: [{threshold: .nan}]\n", "`tests[0].threshold`"),
        ("prompts: [x]\nproviders: [m]\ntests: [{vars: [1]}]\n", "`tests[0].vars`"),
        ("prompts: [x]\nproviders: [m]\ntests: [{options: {transform: 'output.trim()'}}]\n", "JavaScript transforms are not supported"),
        ("prompts: [x]\nproviders: [m]\ntests: file://missing.csv\n", "no such file"),
        ("prompts: [x]\nproviders: [{id: 'file://p.js'}]\n", "script and HTTP providers are not supported"),
        ("prompts: [x]\nproviders: [m, m]\n", "listed twice"),
        ("prompts: [x]\nproviders: [{id: m, config: {temperature: 9}}]\n", "`providers[0].config.temperature`"),
        ("prompts: [file://nope.txt]\nproviders: [m]\n", "no such file"),
        ("prompts: [x]\nproviders: [m]\ntests: [{vars: {a: [1,2,3,4,5,6,7,8,9,10], b: [1,2,3,4,5,6,7,8,9,10], c: [1,2,3,4,5,6,7,8,9,10], d: [1,2,3,4,5,6,7,8,9,10], e: [1,2,3,4,5,6,7,8,9,10], f: [1,2,3,4,5,6,7,8,9,10]}}]\n", "more than"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
            "once aliases are expanded"
        ),
        ("[1, 2", "not valid YAML"),
    ])
    func badSuitesNameTheFieldAndTheFix(yaml: String, expected: String) throws {
        do {
            _ = try parse(yaml)
            Issue.record("parsed: \(yaml)")
        } catch let error as EvalSuiteError {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func deepNestingIsRefusedNotRecursedInto() throws {
        let deep = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        #expect(throws: EvalSuiteError.self) { try parse("prompts: [x]\nproviders: [m]\ntests: [{vars: {a: \(deep)}}]\n") }
    }

    @Test(arguments: [
        ("openai:chat:gpt-4o-mini", "gpt-4o-mini"), ("anthropic:messages:claude-3-5-haiku", "claude-3-5-haiku"), ("openai:gpt-4o", "gpt-4o"),
        ("ollama:chat:llama3.2:1b", "llama3.2:1b"), ("cheap-route", "cheap-route"), ("team:model", "team:model"),
    ])
    func providerIDsMapToSwitchyardNames(id: String, model: String) {
        #expect(ProviderID.model(for: id) == model)
    }

    @Test func aKnownNameIsNeverRewritten() {
        #expect(ProviderID.model(for: "openai:special", known: ["openai:special"]) == "openai:special")
    }

    @Test func csvParsesQuotesCommasAndNewlines() {
        let rows = CSVParser.rows("a,b\n\"1,2\",\"x\"\"y\"\n\"multi\nline\",\n")
        #expect(rows == [["a", "b"], ["1,2", "x\"y"], ["multi\nline", ""]])
    }
}
