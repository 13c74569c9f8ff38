import Foundation
import Guardrails
import Logging
import SwitchyardCore

extension GuardedRequest {
    /// The schema answers must match: when the policy checks schemas and the request asks for one
    /// (`response_format: {"type": "json_schema", "json_schema": {"schema": …}}`).
    var schemaValidator: JSONSchemaValidator? {
        guard policy.output.schemaReasks != nil, let format = request.responseFormat, format.type == .jsonSchema,
            let schema = format.jsonSchema?.schema
        else { return nil }
        return JSONSchemaValidator(schema: schema)
    }

    /// True when answers are scanned for personal data.
    var checksOutputPII: Bool { policy.output.pii != .allow && !detectorFailed }
}

extension Gateway {
    /// Stage 7 for a whole answer: the schema (re-asking through `reask` up to the policy's count),
    /// then personal data. Returns the answer as it may be cached — masked placeholders kept; the
    /// caller rehydrates what goes to the client. `response.usage` comes back as the sum over re-asks.
    func guardOutput(
        _ response: ChatResponse, guarded: inout GuardedRequest, request: ChatRequest,
        reask: (ChatRequest) async throws -> ChatResponse
    ) async throws -> ChatResponse {
        var current = response
        if let validator = guarded.schemaValidator {
            current = try await enforceSchema(current, validator: validator, guarded: &guarded, request: request, reask: reask)
        }
        guard guarded.checksOutputPII else { return current }
        let policy = guarded.policy
        do {
            guard let detector = guardDetector else { throw GuardrailError("no guard detector is available in this build") }
            // Every text of the answer scanned in one batch, off the event loop; then applied in the same order.
            var items: [GuardScanItem] = []
            for index in current.choices.indices {
                var message = current.choices[index].message
                Self.forEachText(of: &message) { text in
                    items.append(GuardScanItem(text: text, channel: .user, injection: false, pii: true))
                    return text
                }
            }
            let found = try await detector.scan(items)
            var cursor = 0
            for index in current.choices.indices {
                var message = current.choices[index].message
                try Self.forEachText(of: &message) { text in
                    guard cursor < found.count else { return text }
                    let spans = found[cursor].pii.filter { policy.outputCounts($0.type) }
                    cursor += 1
                    guard !spans.isEmpty else { return text }
                    guarded.trace.add(.init(stage: "output", category: "pii", action: policy.output.pii.rawValue, types: Self.counts(spans)))
                    guard guarded.enforcing else { return text }
                    switch policy.output.pii {
                    case .redact: return Redactor.redact(text, spans: spans)
                    case .block: throw Self.answerBlocked(policy: policy.name, spans: spans)
                    default: return text
                    }
                }
                current.choices[index].message = message
            }
        } catch let failure as SwitchyardError where failure.code == .guardrailBlocked {
            guarded.trace.verdict = "blocked"
            throw failure
        } catch {
            let reason = (error as? GuardrailError)?.message ?? String(describing: error)
            guarded.trace.add(.init(stage: "output", category: "error", action: policy.onError.rawValue, detail: String(reason.prefix(300))))
            guarded.trace.verdict = "error"
            guard policy.onError == .allow || !guarded.enforcing else { throw Self.outputCheckFailed(policy: policy.name, reason: reason) }
        }
        if guarded.trace.verdict == "pass", guarded.trace.findings.contains(where: { $0.stage == "output" }) {
            guarded.trace.verdict = guarded.enforcing && policy.output.pii == .redact ? "changed" : "flagged"
        }
        return current
    }

    private func enforceSchema(
        _ response: ChatResponse, validator: JSONSchemaValidator, guarded: inout GuardedRequest, request: ChatRequest,
        reask: (ChatRequest) async throws -> ChatResponse
    ) async throws -> ChatResponse {
        let allowed = guarded.enforcing ? min(guarded.policy.output.schemaReasks ?? 0, GuardPolicy.maximumReasks) : 0
        var current = response
        var conversation = request
        var reasks = 0
        while let problem = validator.firstError(text: current.message?.text ?? "") {
            guard reasks < allowed else {
                guarded.trace.schemaReasks = reasks
                guarded.trace.add(.init(stage: "output", category: "schema", action: guarded.enforcing ? "block" : "flag", detail: String(problem.prefix(300))))
                guard guarded.enforcing else { return current }
                guarded.trace.verdict = "blocked"
                throw SwitchyardError(
                    code: .guardrailSchemaFailed,
                    message: "guardrail '\(guarded.policy.name)': the model's answer does not match the response_format schema"
                        + " after \(reasks) re-ask\(reasks == 1 ? "" : "s") (\(problem.prefix(300))).",
                    status: 502)
            }
            reasks += 1
            conversation.messages.append(.assistant(current.message?.text ?? ""))
            conversation.messages.append(.user(
                "Your previous answer does not match the required JSON schema: \(problem.prefix(300)). "
                    + "Answer again with only a JSON value that matches the schema."))
            let previous = current.usage
            current = try await reask(conversation)
            let added = Self.usableUsage(current.usage, response: current) ?? Self.estimateUsage(request: conversation, response: current)
            current.usage = Self.sum(previous, added)
        }
        if reasks > 0 {
            guarded.trace.schemaReasks = reasks
            guarded.trace.add(.init(stage: "output", category: "schema", action: "reask", detail: "valid after \(reasks) re-ask\(reasks == 1 ? "" : "s")"))
        }
        return current
    }

    static func answerBlocked(policy: String, spans: [PIISpan]) -> SwitchyardError {
        SwitchyardError(
            code: .guardrailBlocked,
            message: "guardrail '\(policy)' blocked the answer: personal data (\(kinds(spans))) in the model's output.", status: 502)
    }

    static func outputCheckFailed(policy: String, reason: String) -> SwitchyardError {
        SwitchyardError(
            code: .guardrailError,
            message: "guardrail '\(policy)' could not check the answer (\(reason.prefix(300))), and it fails closed; "
                + "set `on_error: allow` on the policy to let answers through unchecked.",
            status: 503)
    }

    /// The client's values back in place of the placeholders: text and tool-call arguments.
    static func rehydrate(_ response: ChatResponse, with rehydrator: Rehydrator?) -> ChatResponse {
        guard let rehydrator, !rehydrator.originals.isEmpty else { return response }
        var response = response
        for index in response.choices.indices {
            var message = response.choices[index].message
            forEachText(of: &message) { rehydrator.rehydrate($0) }
            if var calls = message.toolCalls {
                for call in calls.indices { calls[call].function.arguments = rehydrator.rehydrate(calls[call].function.arguments) }
                message.toolCalls = calls
            }
            response.choices[index].message = message
        }
        return response
    }

    static func sum(_ left: Usage?, _ right: Usage) -> Usage {
        guard let left else { return right }
        var total = Usage(
            promptTokens: left.promptTokens &+ right.promptTokens, completionTokens: left.completionTokens &+ right.completionTokens,
            estimated: left.estimated || right.estimated)
        total.cachedTokens = left.cachedTokens &+ right.cachedTokens
        return total
    }
}
