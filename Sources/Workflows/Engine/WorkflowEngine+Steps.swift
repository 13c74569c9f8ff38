import Evaluation
import Foundation
import SwitchyardCore

/// What one step produced.
struct StepResult: Sendable {
    var input: JSONValue
    var output: JSONValue
}

/// A step's answer that did not pass: the step fails (and is retried if it may be).
struct StepCheckFailure: Error, CustomStringConvertible {
    var description: String
}

/// Adds up what a step's model calls cost, including calls of attempts that then failed.
actor StepMeter {
    let runID: String?
    let stepID: String?
    private(set) var totals = (costUSD: 0.0, usage: Usage(promptTokens: 0, completionTokens: 0))
    /// What a sub-workflow's run has been counted for so far (its totals grow across this step's attempts).
    private var counted = (costUSD: 0.0, usage: Usage(promptTokens: 0, completionTokens: 0))

    init(runID: String? = nil, stepID: String? = nil) {
        self.runID = runID
        self.stepID = stepID
    }

    /// A sub-workflow's run totals so far: what was not yet counted is added.
    func subRun(costUSD: Double, usage: Usage) {
        if costUSD.isFinite, costUSD > counted.costUSD {
            totals.costUSD += costUSD - counted.costUSD
            counted.costUSD = costUSD
        }
        totals.usage.promptTokens &+= max(0, usage.promptTokens &- counted.usage.promptTokens)
        totals.usage.completionTokens &+= max(0, usage.completionTokens &- counted.usage.completionTokens)
        counted.usage = Usage(
            promptTokens: max(counted.usage.promptTokens, usage.promptTokens),
            completionTokens: max(counted.usage.completionTokens, usage.completionTokens))
    }

    func complete(
        _ runner: any WorkflowStepRunner, model: String, messages: [ChatMessage], parameters: WorkflowCallParameters
    ) async throws -> WorkflowCallResult {
        var parameters = parameters
        parameters.runID = runID
        parameters.stepID = stepID
        let result = try await runner.complete(model: model, messages: messages, parameters: parameters)
        let cost = result.costUSD.isFinite && result.costUSD > 0 ? result.costUSD : 0
        totals.costUSD += cost
        totals.usage.promptTokens &+= max(0, result.usage.promptTokens)
        totals.usage.completionTokens &+= max(0, result.usage.completionTokens)
        return result
    }
}

extension WorkflowEngine {
    func perform(
        _ step: WorkflowStep, spec: WorkflowSpec, run: WorkflowRunRecord, vars: [String: JSONValue], meter: StepMeter
    ) async throws -> StepResult {
        switch step.kind {
        case .llm(let call):
            return try await callModel(call, model: call.model, vars: vars, meter: meter)
        case .validate(let validation):
            return try await validate(validation, spec: spec, vars: vars, meter: meter)
        case .parallel(let map):
            return try await parallel(map, vars: vars, meter: meter)
        case .classify(let classification):
            return try await classify(classification, vars: vars, meter: meter)
        case .retrieve(let call):
            return try await retrieve(call, vars: vars)
        case .tool(let call):
            return try await callTool(call, key: "\(run.id)/\(step.id)", vars: vars)
        case .workflow(let sub):
            return try await subWorkflow(sub, childID: "\(run.id).\(step.id)", parent: run, vars: vars, meter: meter)
        case .human:
            // The run loop stops at a human step before it is performed; here it has no answer to give.
            throw StepCheckFailure(description: "a human step waits for its input")
        }
    }

    /// One `llm` call: the rendered messages as input; the answer as text, or as JSON meeting `output_schema`.
    func callModel(_ call: LLMCall, model: String, vars: [String: JSONValue], meter: StepMeter) async throws -> StepResult {
        var messages: [ChatMessage] = []
        if let system = call.system { messages.append(.system(WorkflowTemplate.render(system, vars: vars))) }
        if let prompt = call.prompt { messages.append(.user(WorkflowTemplate.render(prompt, vars: vars))) }
        for message in call.messages {
            messages.append(ChatMessage(role: message.role, content: .text(WorkflowTemplate.render(message.content, vars: vars))))
        }
        let parameters = WorkflowCallParameters(temperature: call.temperature, maxTokens: call.maxTokens, outputSchema: call.outputSchema)
        let answer = try await meter.complete(runner, model: model, messages: messages, parameters: parameters)
        let input = JSONValue.array(messages.map { .object(["role": .string($0.role.rawValue), "content": .string($0.text)]) })
        guard let schema = call.outputSchema else { return StepResult(input: input, output: .string(answer.text)) }
        // Models often fence JSON (```json … ```) even when asked for JSON alone: the fence is not the answer.
        let text = Self.unfenced(answer.text)
        let verdict = await AssertionGrader.grade(
            Assertion(type: "is-json", value: schema), context: AssertionContext(output: text, response: EvalResponse(output: text)))
        guard verdict.pass, let json = JSONValue.parse(text) else {
            throw StepCheckFailure(description: "the answer of \(model) does not meet output_schema: \(verdict.reason)")
        }
        return StepResult(input: input, output: json)
    }

    /// The cascade: grade the checked step's answer; ask again up to `retries` times, then escalate once; the output
    /// is the first answer that passes.
    func validate(_ validation: Validation, spec: WorkflowSpec, vars: [String: JSONValue], meter: StepMeter) async throws -> StepResult {
        guard let checked = spec.step(validation.step), case .llm(let call) = checked.kind else {
            throw StepCheckFailure(description: "validate: '\(validation.step)' is not an llm step")
        }
        var answer = Template.lookup("steps.\(validation.step).output", vars: vars) ?? .null
        var reasons: [String] = []
        var models: [String] = Array(repeating: call.model, count: validation.retries)
        if let escalate = validation.escalate { models.append(escalate) }
        var tries = models.makeIterator()
        var answeredBy = call.model
        while true {
            let text = Template.plain(answer)
            let verdict = await AssertionGrader.gradeTest(
                validation.assertions, threshold: nil,
                context: AssertionContext(output: text, response: EvalResponse(output: text), vars: vars))
            if verdict.pass {
                return StepResult(
                    input: .object(["step": .string(validation.step), "failed_checks": .array(reasons.map(JSONValue.string))]),
                    output: answer)
            }
            reasons.append("\(answeredBy): \(verdict.reason)")
            guard let model = tries.next() else {
                throw StepCheckFailure(description: "no answer passed the checks on '\(validation.step)': \(reasons.joined(separator: "; "))")
            }
            answeredBy = model
            do {
                answer = try await callModel(call, model: model, vars: vars, meter: meter).output
            } catch let failure as StepCheckFailure {
                answer = .null
                reasons.append(failure.description)
            }
        }
    }

    /// The inline call once per item, at most `concurrency` at a time; the output is the answers in item order.
    func parallel(_ map: ParallelMap, vars: [String: JSONValue], meter: StepMeter) async throws -> StepResult {
        var over = WorkflowTemplate.value(map.over, vars: vars)
        if case .string(let text) = over { over = JSONValue.parse(text) ?? over }
        guard let items = over.arrayValue else {
            throw StepCheckFailure(description: "parallel.over must give a JSON array; it gave \(over.jsonString().prefix(120))")
        }
        guard items.count <= WorkflowSpec.maxParallelItems else {
            throw StepCheckFailure(description: "parallel.over gave \(items.count) items; at most \(WorkflowSpec.maxParallelItems)")
        }
        let outputs = try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
            var results = [JSONValue](repeating: .null, count: items.count)
            var next = 0
            func add(_ index: Int) {
                var itemVars = vars
                itemVars["item"] = items[index]
                itemVars["index"] = .int(Int64(index))
                let frozen = itemVars
                group.addTask { (index, try await self.callModel(map.call, model: map.call.model, vars: frozen, meter: meter).output) }
            }
            while next < min(map.concurrency, items.count) {
                add(next)
                next += 1
            }
            while let (index, output) = try await group.next() {
                results[index] = output
                if next < items.count {
                    add(next)
                    next += 1
                }
            }
            return results
        }
        return StepResult(input: .array(items), output: .array(outputs))
    }

    /// Asks the model for one label, or picks the nearest label by embedding; output `{"label": …}`.
    func classify(_ classification: Classification, vars: [String: JSONValue], meter: StepMeter) async throws -> StepResult {
        let text = WorkflowTemplate.render(classification.text, vars: vars)
        guard case .model(let model) = classification.method else {
            return try await classifyByEmbedding(classification, text: text)
        }
        let list = classification.labels.map { "- \($0.label): \($0.description)" }.joined(separator: "\n")
        let prompt = """
            Classify the text below into exactly one of these labels:
            \(list)

            Answer with the label only.

            Text:
            \(text)
            """
        let answer = try await meter.complete(
            runner, model: model, messages: [.user(prompt)], parameters: WorkflowCallParameters(temperature: 0, maxTokens: 20))
        guard let label = Self.label(in: answer.text, labels: classification.labels.map(\.label)) else {
            throw StepCheckFailure(description: "the answer of \(model) named no label: \(answer.text.prefix(120))")
        }
        return StepResult(input: .string(text), output: .object(["label": .string(label)]))
    }

    /// The label an answer names: the whole answer (case and punctuation aside), else the longest label it contains.
    static func label(in answer: String, labels: [String]) -> String? {
        let cleaned = answer.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).lowercased()
        if let exact = labels.first(where: { $0.lowercased() == cleaned }) { return exact }
        return labels.filter { cleaned.contains($0.lowercased()) }.max { $0.count < $1.count }
    }

    /// The JSON inside a ```json fence, or the text as it is.
    static func unfenced(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("```"), trimmed.hasSuffix("```"), trimmed.count >= 6 else { return trimmed }
        var inner = trimmed.dropFirst(3).dropLast(3)
        if let newline = inner.firstIndex(of: "\n") { inner = inner[inner.index(after: newline)...] }
        return String(inner)
    }
}
