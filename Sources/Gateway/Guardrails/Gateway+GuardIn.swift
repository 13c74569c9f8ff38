import Foundation
import Guardrails
import Logging
import SwitchyardCore

/// What the input guard decided for one request; the output guard works from it.
struct GuardedRequest: Sendable {
    /// The request as it goes on: redacted or masked under `enforce`, unchanged in shadow mode.
    var request: ChatRequest
    var policy: GuardPolicy
    var trace: GuardTrace
    /// Gives the client's values back in the answer, when any were masked.
    var rehydrator: Rehydrator?
    /// The request held personal data under `route-local`: only models tagged `local` may take it.
    var routeLocal = false
    /// The detector could not run and the policy fails open: the output checks are off too.
    var detectorFailed = false

    var enforcing: Bool { policy.mode == .enforce }
}

extension Gateway {
    /// The policy that applies to a request (see `GuardrailsConfiguration.policy`).
    func guardPolicy(for request: ChatRequest, caller: Caller) -> GuardPolicy? {
        configuration.guardrails.policy(target: request.model, keyID: caller.key?.id, keyName: caller.key?.name, team: caller.team)
    }

    /// Stage 2, guard in: scans the turns the policy's channels cover and applies its actions.
    /// Runs after grounding (retrieved passages are read as tool output) and before the cache and the
    /// route, so both see the redacted or masked request. A block is a 400 `guardrail_blocked` that
    /// names the policy and the category, never the values; a detector that cannot run is a 503
    /// `guardrail_error` unless the policy says `on_error: allow`.
    ///
    /// - Parameter original: the request before grounding, to tell the retrieved context message apart.
    func guardInput(
        _ request: ChatRequest, original: ChatRequest, context: CallContext, record: inout RequestRecord
    ) async throws -> GuardedRequest? {
        guard let policy = guardPolicy(for: request, caller: context.caller) else { return nil }
        var guarded = GuardedRequest(request: request, policy: policy, trace: GuardTrace(policy: policy.name, shadow: policy.mode == .shadow))
        guard policy.checksInput else {
            record.guardrail = guarded.trace
            return guarded
        }
        let contextIndex = Self.insertedMessageIndex(original: original.messages, grounded: request.messages)
        do {
            guard let detector = guardDetector else { throw GuardrailError("no guard detector is available in this build") }
            var masker = Masker()
            var messages = request.messages
            // Which texts are read, and for what; then every text is scanned in one batch off the event loop
            // (the detector's encoder takes milliseconds of CPU per text), and the results are applied in order.
            struct Plan { var channel: GuardChannel, place: String, injection: Bool, pii: Bool }
            var plans: [Int: Plan] = [:]
            var items: [GuardScanItem] = []
            for index in messages.indices {
                let channel = index == contextIndex ? GuardChannel.toolOutput : Self.channel(of: messages[index].role)
                guard policy.channels.contains(channel) else { continue }
                // System and developer messages are the operator's own: read for personal data, not for injections
                // (an instruction there is the point), unless the policy lists the memory channel itself.
                let injection = policy.input.injection != .allow && messages[index].role != .assistant
                    && (channel != .memory || policy.channelsExplicit)
                let pii = policy.input.pii != .allow
                guard injection || pii else { continue }
                let place = index == contextIndex ? "the retrieved context" : Self.place(of: messages[index].role)
                plans[index] = Plan(channel: channel, place: place, injection: injection, pii: pii)
                var message = messages[index]
                Self.forEachText(of: &message) { text in
                    if !text.isEmpty { items.append(GuardScanItem(text: text, channel: channel, injection: injection, pii: pii)) }
                    return text
                }
            }
            let results = try await detector.scan(items)
            var cursor = 0
            for index in messages.indices {
                guard let plan = plans[index] else { continue }
                var message = messages[index]
                try Self.forEachText(of: &message) { text in
                    guard !text.isEmpty, cursor < results.count else { return text }
                    let found = results[cursor]
                    cursor += 1
                    if plan.injection { try checkInjection(found.injection, channel: plan.channel, place: plan.place, guarded: &guarded) }
                    return plan.pii
                        ? try applyPII(text, spans: found.pii, channel: plan.channel, place: plan.place, masker: &masker, guarded: &guarded)
                        : text
                }
                messages[index] = message
            }
            if guarded.enforcing {
                guarded.request.messages = messages
                if !masker.isEmpty { guarded.rehydrator = masker.rehydrator }
            }
        } catch let blocked as SwitchyardError where blocked.code == .guardrailBlocked {
            guarded.trace.verdict = "blocked"
            record.guardrail = guarded.trace
            await auditBlock(guarded.trace, reason: blocked.message, context: context)
            var failure = blocked
            failure.headers["x-switchyard-guard"] = guarded.trace.summary
            throw failure
        } catch {
            let (next, failure) = detectorFailed(error, guarded: guarded, context: context)
            guarded = next
            if let failure {
                record.guardrail = guarded.trace
                throw failure
            }
        }
        if guarded.trace.verdict == "pass", !guarded.trace.findings.isEmpty {
            let changed = guarded.enforcing && guarded.trace.findings.contains { ["redact", "mask", "route-local"].contains($0.action) }
            guarded.trace.verdict = changed ? "changed" : "flagged"
        }
        record.guardrail = guarded.trace
        return guarded
    }

    private func checkInjection(
        _ verdict: InjectionVerdict, channel: GuardChannel, place: String, guarded: inout GuardedRequest
    ) throws {
        let score = verdict.score.isFinite ? min(max(verdict.score, 0), 1) : 1
        guarded.trace.injectionScore = max(guarded.trace.injectionScore ?? 0, score)
        let flagged = guarded.policy.input.injectionThreshold.map { score >= $0 } ?? verdict.flagged
        guard flagged else { return }
        let action = guarded.policy.input.injection
        guarded.trace.add(.init(
            stage: "input", category: "injection", channel: channel.rawValue, action: action.rawValue, score: score,
            detail: verdict.reason.map { String($0.prefix(200)) }))
        if action == .block, guarded.enforcing {
            throw Self.blocked(
                policy: guarded.policy.name,
                what: "prompt injection detected in \(place) (score \(String(format: "%.2f", score)))")
        }
    }

    private func applyPII(
        _ text: String, spans found: [PIISpan], channel: GuardChannel, place: String, masker: inout Masker,
        guarded: inout GuardedRequest
    ) throws -> String {
        let policy = guarded.policy
        let spans = found.filter { policy.inputCounts($0.type) }
        guard !spans.isEmpty else { return text }
        let action = policy.input.pii
        guarded.trace.add(.init(stage: "input", category: "pii", channel: channel.rawValue, action: action.rawValue, types: Self.counts(spans)))
        guard guarded.enforcing else { return text }
        switch action {
        case .allow, .flag: return text
        case .redact: return Redactor.redact(text, spans: spans)
        case .mask: return masker.mask(text, spans: spans)
        case .routeLocal:
            guarded.routeLocal = true
            return text
        case .block:
            throw Self.blocked(policy: policy.name, what: "personal data (\(Self.kinds(spans))) found in \(place)")
        }
    }

    /// A detector that could not run: fail closed (the error to throw), or open when the policy says so.
    private func detectorFailed(_ error: any Error, guarded: GuardedRequest, context: CallContext) -> (GuardedRequest, SwitchyardError?) {
        let reason = (error as? GuardrailError)?.message ?? String(describing: error)
        var guarded = guarded
        guarded.trace.verdict = "error"
        guarded.trace.add(.init(
            stage: "input", category: "error", action: guarded.policy.onError.rawValue, detail: String(reason.prefix(300))))
        if guarded.policy.onError == .allow || guarded.policy.mode == .shadow {
            logger.warning(
                "guardrail detector failed; request let through unchecked",
                metadata: ["switchyard.request_id": "\(context.requestID)", "switchyard.guard": "\(guarded.policy.name)", "error": "\(reason)"])
            guarded.rehydrator = nil
            guarded.routeLocal = false
            guarded.detectorFailed = true
            return (guarded, nil)
        }
        let tooLarge = (error as? GuardrailError)?.isInputTooLarge == true
        var failure = SwitchyardError(
            code: .guardrailError,
            message: "guardrail '\(guarded.policy.name)' could not check the request (\(reason.prefix(300))), and it fails closed; "
                + (tooLarge ? "send shorter messages." : "set `on_error: allow` on the policy to let requests through unchecked."),
            status: tooLarge ? 413 : 503)
        failure.headers["x-switchyard-guard"] = guarded.trace.summary
        return (guarded, failure)
    }

    /// Appends a block to the audit chain (who, which policy, why — never the values).
    func auditBlock(_ trace: GuardTrace, reason: String, context: CallContext) async {
        await audit(
            context.caller, "guardrail.block", target: trace.policy,
            details: ["request_id": .string(context.requestID), "reason": .string(String(reason.prefix(500)))])
    }

    static func blocked(policy: String, what: String) -> SwitchyardError {
        SwitchyardError(code: .guardrailBlocked, message: "guardrail '\(policy)' blocked the request: \(what).", status: 400)
    }

    /// `EMAIL_ADDRESS, PERSON`: the kinds, never the values.
    static func kinds(_ spans: [PIISpan]) -> String {
        Set(spans.map(\.type.rawValue)).sorted().joined(separator: ", ")
    }

    static func counts(_ spans: [PIISpan]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for span in spans { counts[span.type.rawValue, default: 0] += 1 }
        return counts
    }

    static func channel(of role: ChatMessage.Role) -> GuardChannel {
        switch role {
        case .user, .assistant: return .user
        case .tool, .function: return .toolOutput
        case .system, .developer: return .memory
        }
    }

    static func place(of role: ChatMessage.Role) -> String {
        switch role {
        case .user: return "a user message"
        case .assistant: return "an assistant message"
        case .tool, .function: return "a tool result"
        case .system, .developer: return "a system message"
        }
    }

    /// Calls `transform` on each text of a message (the string, or each text part) and keeps what it returns.
    static func forEachText(of message: inout ChatMessage, _ transform: (String) throws -> String) rethrows {
        switch message.content {
        case .text(let text)?:
            message.content = .text(try transform(text))
        case .parts(let parts)?:
            message.content = .parts(try parts.map { part in
                if case .text(let text) = part { return .text(try transform(text)) }
                return part
            })
        case nil:
            break
        }
    }

    /// The index of the message grounding inserted (the retrieved context), if any.
    static func insertedMessageIndex(original: [ChatMessage], grounded: [ChatMessage]) -> Int? {
        guard grounded.count == original.count + 1 else { return nil }
        return original.indices.first { original[$0] != grounded[$0] } ?? original.count
    }
}
