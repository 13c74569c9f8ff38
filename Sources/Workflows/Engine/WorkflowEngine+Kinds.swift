import Foundation
import Synchronization
import SwitchyardCore

/// Label centroids of `classify` steps by embedding: each label's description and examples embedded once per parsed
/// step, not once per run.
public final class ClassifierCentroids: Sendable {
    private let cache = Mutex<[UUID: [(label: String, centroid: [Float])]]>([:])
    /// Enough for every classify step of a large configuration; reloads beyond it start the cache afresh.
    static let capacity = 256

    public init() {}

    func centroids(
        for classification: Classification, embed: ([String]) async throws -> [[Float]]
    ) async throws -> [(label: String, centroid: [Float])] {
        if let known = cache.withLock({ $0[classification.identity] }) { return known }
        var result: [(label: String, centroid: [Float])] = []
        for (label, description) in classification.labels {
            let texts = [description] + (classification.examples[label] ?? [])
            var vectors: [[Float]] = []
            for start in stride(from: 0, to: texts.count, by: 64) {
                vectors += try await embed(Array(texts[start..<min(start + 64, texts.count)]))
            }
            result.append((label, Self.normalizedMean(vectors)))
        }
        let computed = result
        cache.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[classification.identity] = computed
        }
        return computed
    }

    static func normalizedMean(_ vectors: [[Float]]) -> [Float] {
        guard let width = vectors.first?.count else { return [] }
        var sum = [Float](repeating: 0, count: width)
        for vector in vectors where vector.count == width {
            for index in 0..<width { sum[index] += vector[index] }
        }
        let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? sum.map { $0 / norm } : sum
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return -1 }
        var dot: Float = 0
        var normA: Float = 0
        var normB: Float = 0
        for index in 0..<a.count {
            dot += a[index] * b[index]
            normA += a[index] * a[index]
            normB += b[index] * b[index]
        }
        let denominator = (normA * normB).squareRoot()
        return denominator > 0 ? Double(dot / denominator) : -1
    }
}

extension WorkflowEngine {
    /// The label whose centroid is nearest the text (cosine), or `otherwise` below `min_score`; no model call.
    func classifyByEmbedding(_ classification: Classification, text: String) async throws -> StepResult {
        let runner = self.runner
        let centroids = try await self.centroids.centroids(for: classification) { try await runner.embed($0) }
        guard let vector = try await runner.embed([text]).first, !vector.isEmpty else {
            throw StepCheckFailure(description: "the embedding model gave no vector for the text")
        }
        var best: (label: String, score: Double)?
        var scores: [String: JSONValue] = [:]
        for (label, centroid) in centroids {
            let score = ClassifierCentroids.cosine(vector, centroid)
            scores[label] = .double((score * 10_000).rounded() / 10_000)
            if best == nil || score > best!.score { best = (label, score) }
        }
        guard var chosen = best else { throw StepCheckFailure(description: "classify has no labels") }
        if let minScore = classification.minScore, chosen.score < minScore, let otherwise = classification.otherwise {
            chosen.label = otherwise
        }
        return StepResult(
            input: .string(text),
            output: ["label": .string(chosen.label), "score": .double((chosen.score * 10_000).rounded() / 10_000), "scores": .object(scores)])
    }

    /// Passages of a collection under the caller's permissions, numbered for a prompt and listed for templates.
    func retrieve(_ call: RetrieveCall, vars: [String: JSONValue]) async throws -> StepResult {
        let query = WorkflowTemplate.render(call.query, vars: vars)
        let passages = try await runner.retrieve(collection: call.collection, query: query, topK: call.topK, mode: call.mode)
        let text = passages.enumerated().map { index, passage in
            let heading = [passage.title, passage.source].compactMap { $0 }.joined(separator: " — ")
            return "[\(index + 1)] \(heading.isEmpty ? passage.documentID : heading)\n\(passage.text)"
        }.joined(separator: "\n\n")
        let list = passages.map { passage -> JSONValue in
            var item: [String: JSONValue] = [
                "document_id": .string(passage.documentID), "score": .double(passage.score), "text": .string(passage.text),
                "metadata": passage.metadata,
            ]
            if let title = passage.title { item["title"] = .string(title) }
            if let source = passage.source { item["source"] = .string(source) }
            return .object(item)
        }
        return StepResult(
            input: ["collection": .string(call.collection), "query": .string(query)],
            output: ["text": .string(text), "passages": .array(list)])
    }

    /// A tool call with its arguments rendered; a tool that reports an error fails the step.
    func callTool(_ call: ToolStepCall, key: String, vars: [String: JSONValue]) async throws -> StepResult {
        let arguments = Self.renderArguments(call.arguments, vars: vars)
        let result = try await runner.callTool(name: call.name, arguments: arguments, idempotencyKey: key)
        guard !result.isError else {
            throw StepCheckFailure(description: "the tool \(call.name) reported an error: \(result.text.prefix(500))")
        }
        return StepResult(
            input: ["tool": .string(call.name), "arguments": arguments, "idempotency_key": .string(key)],
            output: result.structured ?? Self.jsonContainer(result.text) ?? .string(result.text))
    }

    /// Text that is a JSON object or array (many tools answer JSON as text), as that JSON.
    static func jsonContainer(_ text: String) -> JSONValue? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.first == "{" || trimmed.first == "[", let json = JSONValue.parse(trimmed) else { return nil }
        return json
    }

    /// Templates inside a JSON value rendered (a string that is one `{{path}}` becomes that value).
    static func renderArguments(_ value: JSONValue, vars: [String: JSONValue]) -> JSONValue {
        switch value {
        case .string(let template): WorkflowTemplate.value(template, vars: vars)
        case .array(let items): .array(items.map { renderArguments($0, vars: vars) })
        case .object(let object): .object(object.mapValues { renderArguments($0, vars: vars) })
        default: value
        }
    }

    /// Another workflow as one step: its own recorded run (`PARENT.STEP`), resumed with its parent after a crash and
    /// restarted from its failed step when this step is retried; its cost and tokens count toward this step.
    func subWorkflow(
        _ sub: SubWorkflow, childID: String, parent: WorkflowRunRecord, vars: [String: JSONValue], meter: StepMeter
    ) async throws -> StepResult {
        guard depth < Self.maxDepth else {
            throw WorkflowRunError(.stepFailed, "workflows nest deeper than \(Self.maxDepth) levels")
        }
        guard let spec = resolveWorkflow(sub.name) else {
            throw StepCheckFailure(description: "there is no workflow '\(sub.name)'")
        }
        var nested = self
        nested.depth += 1
        let input = WorkflowTemplate.value(sub.input, vars: vars)
        if let existing = try await store.run(id: childID) {
            if existing.status == .failed { _ = try await store.transition(id: childID, from: [.failed], to: .running, at: now()) }
        } else {
            _ = try await nested.start(spec, input: input, runID: childID, callerID: parent.callerID)
        }
        let outcome = try await nested.execute(spec, runID: childID)
        await meter.subRun(costUSD: outcome.run.costUSD, usage: outcome.usage)
        switch outcome.run.status {
        case .completed:
            return StepResult(input: ["workflow": .string(sub.name), "run": .string(childID), "input": input], output: outcome.run.output ?? .null)
        case .waiting:
            throw StepCheckFailure(description: "the workflow '\(sub.name)' waits for a person, which a sub-workflow cannot do")
        case .failed, .running:
            throw StepCheckFailure(description: "the workflow '\(sub.name)' (run \(childID)) failed: \(outcome.run.error ?? "it did not finish")")
        }
    }
}
