import Evaluation
import Foundation
import SwitchyardCore

extension WorkflowSpec {
    /// Most steps a workflow may declare, and most items a `parallel` step may map over.
    public static let maxDeclaredSteps = 200
    public static let maxParallelItems = 1_000

    /// Parses and checks one workflow (`{name, description?, input_schema?, steps, output?, max_cost_usd?, max_steps?,
    /// timeout_s?}`). Ids must be unique and templates may only read the input and earlier steps; every error names
    /// the workflow, the step, the field and the fix.
    public static func parse(_ json: JSONValue) throws(WorkflowSpecError) -> WorkflowSpec {
        let name = json.objectValue?["name"]?.stringValue ?? "?"
        let root = SpecField(value: json, path: [], workflow: name, stepID: nil)
        try root.allowOnly(["name", "description", "input_schema", "steps", "output", "max_cost_usd", "max_steps", "timeout_s"])
        let nameField = try root.required("name")
        guard isUsableName(try nameField.string()) else {
            throw nameField.error("'\(name.prefix(80))' is not a usable name: 1 to 64 letters, digits, '_', '-' or '.'")
        }
        var spec = WorkflowSpec(name: name, steps: [])
        spec.description = try root["description"]?.string()
        if let schema = root["input_schema"] {
            guard schema.value.objectValue != nil else { throw schema.error("write a JSON schema object, such as {type: object}") }
            spec.inputSchema = schema.value
        }
        spec.maxCostUSD = try root["max_cost_usd"]?.number(in: 0...1_000_000)
        spec.maxSteps = try root["max_steps"]?.int(in: 1...10_000)
        spec.timeoutSeconds = try root["timeout_s"]?.number(in: 0.001...604_800)

        let stepsField = try root.required("steps")
        let list = try stepsField.list()
        guard !list.isEmpty else { throw stepsField.error("a workflow needs at least one step") }
        guard list.count <= maxDeclaredSteps else { throw stepsField.error("at most \(maxDeclaredSteps) steps, not \(list.count)") }
        var earlier: [String: WorkflowStep] = [:]
        for field in list {
            let step = try parseStep(field, earlier: earlier)
            spec.steps.append(step)
            earlier[step.id] = step
        }
        if let output = root["output"] {
            spec.output = try output.string()
            try checkReferences(in: [spec.output ?? ""], field: output, earlier: Set(earlier.keys), extra: [])
        }
        return spec
    }

    /// 1 to 64 letters, digits, `_`, `-` or `.`: usable in a URL path and as `workflow/NAME`.
    public static func isUsableName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }

    private static func parseStep(_ field: SpecField, earlier: [String: WorkflowStep]) throws(WorkflowSpecError) -> WorkflowStep {
        let kinds = ["llm", "validate", "parallel", "classify"]
        let idField = try field.required("id")
        let id = try idField.string()
        guard isUsableName(id) else { throw idField.error("'\(id.prefix(80))' is not a usable id: 1 to 64 letters, digits, '_', '-' or '.'") }
        guard earlier[id] == nil else { throw idField.error("the id '\(id)' is used by an earlier step; ids must be unique") }
        var field = field
        field.stepID = id
        try field.allowOnly(Set(["id", "when", "retry"] + kinds))
        let present = kinds.filter { field[$0] != nil }
        guard present.count == 1 else {
            throw field.error(
                present.isEmpty ? "a step needs one kind: \(kinds.joined(separator: ", "))"
                    : "a step has one kind, not \(present.joined(separator: " and ")); split it into steps")
        }
        let known = Set(earlier.keys)
        var step = WorkflowStep(id: id, retry: .once, kind: .llm(LLMCall(model: "", messages: [])))
        if let when = field["when"] {
            step.when = try when.string()
            try checkReferences(in: [step.when ?? ""], field: when, earlier: known, extra: [])
        }
        if let retry = field["retry"] {
            try retry.allowOnly(["attempts", "backoff_ms"])
            step.retry = WorkflowRetry(
                attempts: try retry.required("attempts").int(in: 1...10), backoffMs: try retry["backoff_ms"]?.int(in: 0...600_000) ?? 0)
        }
        switch present[0] {
        case "llm":
            let llm = try field.required("llm")
            let call = try parseLLMCall(llm)
            try checkReferences(in: call.templates, field: llm, earlier: known, extra: [])
            step.kind = .llm(call)
        case "validate":
            step.kind = .validate(try parseValidation(try field.required("validate"), earlier: earlier))
        case "parallel":
            let parallel = try field.required("parallel")
            try parallel.allowOnly(["over", "step", "concurrency"])
            let over = try parallel.required("over")
            let overText = try over.string()
            try checkReferences(in: [overText], field: over, earlier: known, extra: [])
            let inner = try parallel.required("step")
            try inner.allowOnly(["llm"])
            let innerLLM = try inner.required("llm")
            let call = try parseLLMCall(innerLLM)
            try checkReferences(in: call.templates, field: innerLLM, earlier: known, extra: ["item", "index"])
            step.kind = .parallel(ParallelMap(over: overText, call: call, concurrency: try parallel["concurrency"]?.int(in: 1...64) ?? 4))
        default:
            let classify = try field.required("classify")
            try classify.allowOnly(["model", "labels", "text"])
            let labelsField = try classify.required("labels")
            guard let labels = labelsField.value.objectValue, !labels.isEmpty, labels.count <= 100 else {
                throw labelsField.error("write 1 to 100 labels as {label: description}, such as {billing: 'payments and refunds'}")
            }
            var pairs: [(label: String, description: String)] = []
            for label in labels.keys.sorted() {
                guard let description = labels[label]?.stringValue, !label.isEmpty else {
                    throw labelsField.child(label).error("a label's description is a string saying when it applies")
                }
                pairs.append((label, description))
            }
            let text = try classify["text"]?.string() ?? "{{input}}"
            try checkReferences(in: [text], field: classify, earlier: known, extra: [])
            step.kind = .classify(Classification(model: try classify.required("model").nonEmptyString(), labels: pairs, text: text))
        }
        return step
    }

    private static func parseLLMCall(_ field: SpecField) throws(WorkflowSpecError) -> LLMCall {
        try field.allowOnly(["model", "prompt", "messages", "system", "temperature", "max_tokens", "output_schema"])
        var call = LLMCall(model: try field.required("model").nonEmptyString(), messages: [])
        call.prompt = try field["prompt"]?.string()
        if let messages = field["messages"] {
            for message in try messages.list() {
                try message.allowOnly(["role", "content"])
                let roleField = try message.required("role")
                let role = try roleField.string()
                guard let parsed = ChatMessage.Role(rawValue: role), [.system, .user, .assistant].contains(parsed) else {
                    throw roleField.error("a message's role is system, user or assistant, not '\(role.prefix(40))'")
                }
                call.messages.append(LLMCall.Message(role: parsed, content: try message.required("content").string()))
            }
        }
        guard (call.prompt == nil) != call.messages.isEmpty else {
            throw field.error("write either prompt (a template) or messages (a list of {role, content}), not both or neither")
        }
        call.system = try field["system"]?.string()
        call.temperature = try field["temperature"]?.number(in: 0...2)
        call.maxTokens = try field["max_tokens"]?.int(in: ChatRequest.outputTokenRange)
        if let schema = field["output_schema"] {
            guard schema.value.objectValue != nil else { throw schema.error("write a JSON schema object, such as {type: object}") }
            call.outputSchema = schema.value
        }
        return call
    }

    private static func parseValidation(_ field: SpecField, earlier: [String: WorkflowStep]) throws(WorkflowSpecError) -> Validation {
        try field.allowOnly(["step", "assert", "on_fail"])
        let target = try field.required("step")
        let checked = try target.string()
        guard let step = earlier[checked] else {
            throw target.error("'\(checked.prefix(64))' is not an earlier step; validate checks a step declared before it")
        }
        guard case .llm = step.kind else { throw target.error("'\(checked)' is not an llm step; validate re-runs the llm step it checks") }
        let assertField = try field.required("assert")
        var assertions: [Assertion] = []
        for (index, item) in try assertField.list().enumerated() {
            let assertion: Assertion
            do {
                assertion = try Assertion.parse(item.value, field: "assert[\(index)]")
            } catch {
                throw item.error(error.message)
            }
            guard !unavailableInValidate.contains(assertion.type) else {
                throw item.child("type").error(
                    "'\(assertion.type)' cannot be checked in a validate step yet (it needs a judge, an embedder or the call's metrics); "
                        + "use text or JSON assertions such as contains, regex or is-json")
            }
            assertions.append(assertion)
        }
        guard !assertions.isEmpty else { throw assertField.error("write at least one assertion, such as {type: contains, value: Paris}") }
        var validation = Validation(step: checked, assertions: assertions, retries: 0, escalate: nil)
        if let onFail = field["on_fail"] {
            try onFail.allowOnly(["retry", "escalate"])
            validation.retries = try onFail["retry"]?.int(in: 0...10) ?? 0
            validation.escalate = try onFail["escalate"]?.nonEmptyString()
        }
        return validation
    }

    /// Assertion types a validate step cannot grade: it has no judge, no embedding model and no per-call metrics.
    static let unavailableInValidate: Set<String> = [
        "llm-rubric", "model-graded-closedqa", "similar", "is-valid-openai-tools-call", "cost", "latency",
    ]

    /// Refuses template paths other than `input…`, `steps.EARLIER.output…` and the `extra` roots.
    private static func checkReferences(
        in templates: [String], field: SpecField, earlier: Set<String>, extra: Set<String>
    ) throws(WorkflowSpecError) {
        for template in templates {
            for path in WorkflowTemplate.references(in: template) {
                let segments = WorkflowTemplate.segments(path)
                guard let root = segments.first else { throw field.error("'{{\(path)}}' is empty; write {{input}} or {{steps.ID.output}}") }
                if root == "input" || extra.contains(root) { continue }
                guard root == "steps" else {
                    let roots = (["input", "steps.ID.output"] + extra.sorted()).joined(separator: ", ")
                    throw field.error("'{{\(path)}}' reads '\(root)', which a workflow does not have (it has \(roots))")
                }
                guard segments.count >= 3, segments[2] == "output" else {
                    throw field.error("'{{\(path)}}': write {{steps.ID.output}} or {{steps.ID.output.FIELD}}")
                }
                guard earlier.contains(segments[1]) else {
                    throw field.error("'{{\(path)}}' reads step '\(segments[1])', which is not a step declared before this one")
                }
            }
        }
    }
}
