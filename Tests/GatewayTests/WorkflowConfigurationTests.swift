import Foundation
import SwitchyardCore
import Testing

@testable import Gateway

@Suite("Workflow configuration")
struct WorkflowConfigurationTests {
    static let base = ExperimentConfigurationTests.base

    @Test func readsWorkflows() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.base + """
                workflows:
                  - name: draft-and-check
                    max_cost_usd: 0.05
                    steps:
                      - {id: draft, llm: {model: small, prompt: "Answer briefly: {{input}}"}}
                      - {id: review, llm: {model: fast, prompt: "Improve: {{steps.draft.output}}"}}
                      - {id: check, validate: {step: review, assert: [{type: icontains, value: sky}], on_fail: {retry: 1, escalate: large}}}
                """, source: "test.yaml")
        #expect(configuration.workflows.map(\.name) == ["draft-and-check"])
        #expect(configuration.workflows.first?.steps.map(\.id) == ["draft", "review", "check"])
        #expect(configuration.workflows.first?.maxCostUSD == 0.05)
    }

    @Test(arguments: [
        // A later step's output: the error is on the step's llm line (the base is 10 lines).
        ("""
         workflows:
           - name: w
             steps:
               - id: a
                 llm: {model: small, prompt: "{{steps.b.output}}"}
               - {id: b, llm: {model: small, prompt: "x"}}
         """, ["test.yaml:15:", "workflow 'w' step 'a'", "steps[0].llm", "not a step declared before this one"]),
        ("""
         workflows:
           - name: w
             steps:
               - {id: a, llm: {model: nosuch, prompt: "x"}}
         """, ["test.yaml:14:", "step 'a'", "'nosuch' is not a chat model, group, route or experiment"]),
        ("""
         workflows:
           - name: w
             steps:
               - {id: a, llm: {model: emb, prompt: "x"}}
         """, ["'emb' is not a chat model"]),
        ("""
         workflows:
           - name: w
             steps: [{id: a, llm: {model: small, prompt: "x"}}]
           - name: w
             steps: [{id: a, llm: {model: small, prompt: "x"}}]
         """, ["test.yaml:14:", "already declared"]),
        ("""
         workflows:
           - name: w
             steps:
               - {id: a, llm: {model: small, prompt: "x"}}
               - id: b
                 validate: {step: a, assert: [{type: contians, value: x}]}
         """, ["test.yaml:16:", "step 'b'", "assert[0]", "unknown type 'contians'"]),
        ("workflows: {name: w}", ["test.yaml:11:", "must be a list"]),
        ("""
         workflows:
           - name: w
             steps:
               - {id: a, workflow: {name: ghost}}
         """, ["test.yaml:14:", "step 'a'", "no workflow 'ghost'"]),
        ("""
         workflows:
           - name: a
             steps: [{id: s, workflow: {name: b}}]
           - name: b
             steps: [{id: t, workflow: {name: a}}]
         """, ["cycle", "a → b → a"]),
        ("""
         workflows:
           - name: self
             steps: [{id: s, workflow: {name: self}}]
         """, ["cycle", "self → self"]),
        ("""
         workflows:
           - name: ask
             steps: [{id: h, human: {prompt: "ok?"}}]
           - name: outer
             steps: [{id: s, workflow: {name: ask}}]
         """, ["step 's'", "human step ('h')", "cannot wait inside another run"]),
        ("""
         workflows:
           - name: w
             steps: [{id: a, llm: {model: workflow/other, prompt: x}}]
         """, ["workflow: {name: other}"]),
    ])
    func badWorkflowsNameTheLineStepAndField(section: String, fragments: [String]) {
        do {
            _ = try ConfigurationLoader.parse(Self.base + section, source: "test.yaml")
            Issue.record("expected an error for \(section)")
        } catch let error as SwitchyardError {
            for fragment in fragments { #expect(error.message.contains(fragment), "\(error.message) should contain \(fragment)") }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
