import Foundation
import SwitchyardCore
import Testing
import Workflows

@Suite struct WorkflowSpecTests {
    @Test func parsesEveryStepKind() throws {
        let parsed = try spec(
            """
            {"name": "triage", "max_cost_usd": 0.5, "max_steps": 10, "timeout_s": 30, "output": "{{steps.check.output}}",
             "steps": [
               {"id": "kind", "classify": {"model": "small", "labels": {"billing": "payments", "other": "anything else"}}},
               {"id": "draft", "when": "{{steps.kind.output.label}}", "retry": {"attempts": 3, "backoff_ms": 10},
                "llm": {"model": "small", "system": "Be brief", "prompt": "Answer: {{input}}", "temperature": 0.2, "max_tokens": 100}},
               {"id": "check", "validate": {"step": "draft", "assert": [{"type": "contains", "value": "refund"}],
                                             "on_fail": {"retry": 1, "escalate": "big"}}},
               {"id": "each", "parallel": {"over": "{{input.items}}", "concurrency": 2,
                                            "step": {"llm": {"model": "small", "prompt": "{{index}}: {{item}}"}}}}
             ]}
            """)
        #expect(parsed.steps.map(\.id) == ["kind", "draft", "check", "each"])
        #expect(parsed.maxCostUSD == 0.5 && parsed.maxSteps == 10 && parsed.timeoutSeconds == 30)
        #expect(parsed.steps[1].retry == WorkflowRetry(attempts: 3, backoffMs: 10))
        guard case .validate(let validation) = parsed.steps[2].kind else { Issue.record("not validate"); return }
        #expect(validation.retries == 1 && validation.escalate == "big" && validation.assertions.count == 1)
        guard case .parallel(let map) = parsed.steps[3].kind else { Issue.record("not parallel"); return }
        #expect(map.concurrency == 2)
        guard case .classify(let classify) = parsed.steps[0].kind else { Issue.record("not classify"); return }
        #expect(classify.labels.map(\.label) == ["billing", "other"])
    }

    @Test(arguments: [
        // (spec, the field the error must name, a phrase of its message)
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "{{steps.b.output}}"}}, {"id": "b", "llm": {"model": "m", "prompt": "x"}}]}"#,
         "steps[0].llm", "not a step declared before this one"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "{{steps.a.output}}"}}]}"#, "steps[0].llm", "step 'a'"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x"}}, {"id": "a", "llm": {"model": "m", "prompt": "y"}}]}"#,
         "steps[1].id", "ids must be unique"),
        (#"{"name": "w", "steps": [{"id": "a", "validate": {"step": "z", "assert": [{"type": "contains", "value": "x"}]}}]}"#,
         "steps[0].validate.step", "not an earlier step"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x", "messages": [{"role": "user", "content": "y"}]}}]}"#,
         "steps[0].llm", "either prompt"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x"}, "classify": {"model": "m", "labels": {"a": "b"}}}]}"#,
         "steps[0]", "one kind"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "promt": "x"}}]}"#, "steps[0].llm.promt", "unknown field"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "{{vars.x}}"}}]}"#, "steps[0].llm", "reads 'vars'"),
        (#"{"name": "w", "max_cost_usd": -1, "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x"}}]}"#, "max_cost_usd", "from 0"),
        (#"{"name": "w", "steps": [{"id": "a", "retry": {"attempts": 1e300}, "llm": {"model": "m", "prompt": "x"}}]}"#,
         "steps[0].retry.attempts", "whole number"),
        (#"{"name": "w", "steps": [{"id": "a", "validate": {"step": "a", "assert": [{"type": "nope"}]}}]}"#, "steps[0].validate.step", "earlier"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x"}}, {"id": "b", "validate": {"step": "a", "assert": [{"type": "nope"}]}}]}"#,
         "steps[1].validate.assert[0]", "unknown type"),
        (#"{"name": "w", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x"}}, {"id": "b", "validate": {"step": "a", "assert": [{"type": "llm-rubric", "value": "polite"}]}}]}"#,
         "steps[1].validate.assert[0].type", "cannot be checked in a validate step"),
        (#"{"name": "w", "steps": []}"#, "steps", "at least one step"),
        (#"{"name": "bad name", "steps": [{"id": "a", "llm": {"model": "m", "prompt": "x"}}]}"#, "name", "usable name"),
    ])
    func refusesWithTheFieldAndFix(_ json: String, field: String, phrase: String) throws {
        do {
            _ = try spec(json)
            Issue.record("accepted \(json)")
        } catch let error as WorkflowSpecError {
            #expect(error.field == field, "\(error)")
            #expect(error.description.contains(phrase), "\(error)")
            #expect(error.description.hasPrefix("workflow '"))
        }
    }

    @Test func errorsNameTheStep() throws {
        do {
            _ = try spec(#"{"name": "w", "steps": [{"id": "draft", "llm": {"prompt": "x"}}]}"#)
            Issue.record("accepted a step without a model")
        } catch let error as WorkflowSpecError {
            #expect(error.stepID == "draft")
            #expect(error.description == "workflow 'w' step 'draft': steps[0].llm.model: missing required field `model`")
        }
    }

    @Test func rendersTemplatesAndTruthiness() {
        let vars: [String: JSONValue] = [
            "input": .object(["city": .string("Paris")]),
            "steps": .object(["a": .object(["output": .object(["label": .string("billing"), "n": .int(2)])])]),
        ]
        #expect(WorkflowTemplate.render("{{input.city}} / {{steps.a.output.label}} / {{steps.a.output.n}}", vars: vars) == "Paris / billing / 2")
        #expect(WorkflowTemplate.value("{{steps.a.output}}", vars: vars) == .object(["label": .string("billing"), "n": .int(2)]))
        for falsy in ["", " false ", "FALSE", "0", "null", "No", "\n"] { #expect(!WorkflowTemplate.isTruthy(falsy), "\(falsy)") }
        for truthy in ["yes", "true", "1", "billing", "00"] { #expect(WorkflowTemplate.isTruthy(truthy), "\(truthy)") }
    }
}

@Suite struct WorkflowSpecKindsTests {
    private func refusal(_ json: String) -> String? {
        do {
            _ = try WorkflowSpec.parse(JSONValue.parse(json) ?? .null)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func newKindsParseAndBadOnesAreNamed() throws {
        let workflow = try spec(
            """
            {"name": "w", "steps": [
              {"id": "kb", "retrieve": {"collection": "help", "query": "{{input}}", "mode": "dense"}},
              {"id": "t", "tool": {"name": "desk__create", "arguments": {"body": "{{steps.kb.output.text}}"}}},
              {"id": "h", "human": {"prompt": "ok?", "input_schema": {"type": "boolean"}}},
              {"id": "s", "workflow": {"name": "other"}},
              {"id": "c", "classify": {"labels": {"a": "x"}}}
            ]}
            """)
        #expect(workflow.steps.count == 5)
        guard case .classify(let classification) = workflow.steps[4].kind, case .embedding = classification.method else {
            Issue.record("classify without a model classifies by embedding")
            return
        }
        #expect(refusal(#"{"name": "w", "steps": [{"id": "kb", "retrieve": {"collection": "c", "query": "q", "mode": "fuzzy"}}]}"#)?.contains("hybrid, dense or bm25") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "kb", "retrieve": {"collection": "c", "query": "q", "top_k": 1e300}}]}"#)?.contains("top_k") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "t", "tool": {"name": "x", "arguments": "{{input}}"}}]}"#)?.contains("mapping") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "t", "tool": {"name": "x", "arguments": {"a": "{{steps.zz.output}}"}}}]}"#)?.contains("zz") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "h", "human": {}}]}"#)?.contains("prompt") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "s", "workflow": {"name": "a b"}}]}"#)?.contains("workflow name") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "c", "classify": {"model": "m", "labels": {"a": "x"}, "min_score": 0.5, "otherwise": "b"}}]}"#)?.contains("embedding") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "c", "classify": {"labels": {"a": "x"}, "examples": {"b": ["y"]}}}]}"#)?.contains("not one of the labels") == true)
        #expect(refusal(#"{"name": "w", "steps": [{"id": "c", "classify": {"labels": {"a": "x"}, "min_score": 0.5}}]}"#)?.contains("otherwise") == true)
    }
}

@Suite struct WorkflowConditionTests {
    @Test func comparisonsAndTruth() {
        let vars: [String: JSONValue] = ["steps": ["route": ["output": ["label": "urgent", "text": "a == b"]]]]
        #expect(WorkflowTemplate.holds("{{steps.route.output.label}} == urgent", vars: vars))
        #expect(WorkflowTemplate.holds("{{steps.route.output.label}} == 'urgent'", vars: vars))
        #expect(!WorkflowTemplate.holds("{{steps.route.output.label}} != urgent", vars: vars))
        #expect(WorkflowTemplate.holds("{{ steps.route.output.label }} != person", vars: vars))
        // An output containing "==" is text, not an operator.
        #expect(WorkflowTemplate.holds("{{steps.route.output.text}}", vars: vars))
        #expect(!WorkflowTemplate.holds("{{steps.route.output.missing}}", vars: vars))
        #expect(!WorkflowTemplate.holds("no", vars: vars))
    }
}
