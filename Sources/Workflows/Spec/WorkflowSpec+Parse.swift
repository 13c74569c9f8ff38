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
        let kinds = ["llm", "validate", "parallel", "classify", "retrieve", "tool", "human", "workflow"]
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
        case "classify":
            step.kind = .classify(try parseClassification(try field.required("classify"), known: known))
        case "retrieve":
            let retrieve = try field.required("retrieve")
            try retrieve.allowOnly(["collection", "query", "top_k", "mode"])
            let query = try retrieve.required("query")
            let call = RetrieveCall(
                collection: try retrieve.required("collection").nonEmptyString(), query: try query.string(),
                topK: try retrieve["top_k"]?.int(in: 1...100) ?? 5, mode: try retrieve["mode"]?.string())
            if let mode = call.mode, !["hybrid", "dense", "bm25"].contains(mode) {
                throw retrieve.child("mode").error("'\(mode.prefix(40))' is not a search mode; write hybrid, dense or bm25")
            }
            try checkReferences(in: [call.query], field: query, earlier: known, extra: [])
            step.kind = .retrieve(call)
        case "tool":
            let tool = try field.required("tool")
            try tool.allowOnly(["name", "arguments"])
            var arguments: JSONValue = [:]
            if let given = tool["arguments"] {
                guard given.value.objectValue != nil else {
                    throw given.error("write the tool's arguments as a mapping, such as {city: \"{{input.city}}\"}")
                }
                arguments = given.value
                try checkReferences(in: templateStrings(in: arguments), field: given, earlier: known, extra: [])
            }
            step.kind = .tool(ToolStepCall(name: try tool.required("name").nonEmptyString(), arguments: arguments))
        case "human":
            let human = try field.required("human")
            try human.allowOnly(["prompt", "input_schema"])
            let prompt = try human.required("prompt")
            var input = HumanInput(prompt: try prompt.string())
            try checkReferences(in: [input.prompt], field: prompt, earlier: known, extra: [])
            if let schema = human["input_schema"] {
                guard schema.value.objectValue != nil else { throw schema.error("write a JSON schema object, such as {type: object}") }
                input.inputSchema = schema.value
            }
            step.kind = .human(input)
        default:
            let workflow = try field.required("workflow")
            try workflow.allowOnly(["name", "input"])
            let nameField = try workflow.required("name")
            let name = try nameField.string()
            guard isUsableName(name) else { throw nameField.error("'\(name.prefix(80))' is not a workflow name") }
            let input = try workflow["input"]?.string() ?? "{{input}}"
            try checkReferences(in: [input], field: workflow, earlier: known, extra: [])
            step.kind = .workflow(SubWorkflow(name: name, input: input))
        }
        return step
    }

    private static func parseClassification(_ classify: SpecField, known: Set<String>) throws(WorkflowSpecError) -> Classification {
        try classify.allowOnly(["model", "method", "labels", "text", "examples", "min_score", "otherwise"])
        let methodName = try classify["method"]?.string() ?? (classify["model"] == nil ? "embedding" : "model")
        let method: Classification.Method
        switch methodName {
        case "model": method = .model(try classify.required("model").nonEmptyString())
        case "embedding":
            if classify["model"] != nil { throw classify.child("model").error("the embedding method calls no model; remove `model` or write method: model") }
            method = .embedding
        default: throw classify.child("method").error("'\(methodName.prefix(40))' is not a method; write model or embedding")
        }
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
        var classification = Classification(method: method, labels: pairs, text: text)
        if let examples = classify["examples"] {
            guard case .embedding = method, let object = examples.value.objectValue else {
                throw examples.error("examples are {label: [texts]} for the embedding method")
            }
            var total = 0
            for (label, value) in object {
                guard labels[label] != nil else { throw examples.child(label).error("'\(label.prefix(64))' is not one of the labels") }
                let texts = try examples.child(label, value: value).list().map { item throws(WorkflowSpecError) in try item.string() }
                total += texts.count
                classification.examples[label] = texts
            }
            guard total <= 10_000 else { throw examples.error("at most 10,000 examples in all, not \(total)") }
        }
        if let minScore = classify["min_score"] {
            guard case .embedding = method else { throw minScore.error("min_score applies to the embedding method") }
            classification.minScore = try minScore.number(in: -1...1)
            let otherwise = try classify.required("otherwise")
            classification.otherwise = try otherwise.nonEmptyString()
        } else if let otherwise = classify["otherwise"] {
            throw otherwise.error("otherwise is the label below min_score; write min_score too")
        }
        return classification
    }

    /// Every string inside a JSON value (the templates of a tool step's arguments).
    static func templateStrings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): [text]
        case .array(let items): items.flatMap(templateStrings(in:))
        case .object(let object): object.values.flatMap(templateStrings(in:))
        default: []
        }
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
