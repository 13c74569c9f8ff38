import Foundation
import Guardrails
import SwitchyardCore

/// Stage 7 for a stream: checks the answer's text for personal data in windows as it passes,
/// rehydrates masked placeholders (one split across chunks included), and at the end checks the
/// whole text against the request's schema. It holds back at most a window of text plus a
/// placeholder's length; it never buffers the stream.
///
/// `@unchecked Sendable`: a filter belongs to one stream; only the task that drains the stream
/// touches it, and `Gateway.finish` reads it on that task after the last chunk.
final class GuardStreamFilter: @unchecked Sendable {
    let policy: GuardPolicy
    let enforcing: Bool
    let detector: (any GuardDetector)?
    let rehydrator: Rehydrator?
    let validator: JSONSchemaValidator?
    private let windowSize: Int
    private(set) var scansPII: Bool
    private var windows: [Int: OutputWindow] = [:]
    private var streams: [Int: Rehydrator.Stream] = [:]
    private var flushed: Set<Int> = []
    private var schemaText = ""
    private var template: ChatChunk?
    /// What the filter found, for the request log.
    private(set) var findings: [GuardTrace.Finding] = []
    /// `blocked`, `error`, or nil when nothing ended the stream.
    private(set) var verdict: String?
    /// Choice 0's text as it may be cached: checked and redacted, placeholders kept.
    private(set) var cacheText = ""

    init(guarded: GuardedRequest, detector: (any GuardDetector)?, window: Int) {
        self.policy = guarded.policy
        self.enforcing = guarded.enforcing
        self.detector = detector
        self.rehydrator = guarded.rehydrator
        self.validator = guarded.schemaValidator
        self.scansPII = guarded.checksOutputPII
        self.windowSize = window
    }

    /// A filter that only gives back masked values (a cached answer's replay).
    init(rehydrator: Rehydrator, policy: GuardPolicy) {
        self.policy = policy
        self.enforcing = true
        self.detector = nil
        self.rehydrator = rehydrator
        self.validator = nil
        self.scansPII = false
        self.windowSize = 64
    }

    /// True when the filter has anything to do.
    var isActive: Bool { scansPII || rehydrator != nil || validator != nil }

    /// The chunk with its text checked; its text may be shorter (held back) or longer (released).
    func process(_ chunk: ChatChunk) throws -> [ChatChunk] {
        template = chunk
        var chunk = chunk
        for index in chunk.choices.indices {
            let choice = chunk.choices[index].index
            let content = chunk.choices[index].delta.content
            var text = try content.map { try pass($0, choice: choice) } ?? ""
            if chunk.choices[index].finishReason != nil { text += try flush(choice) }
            chunk.choices[index].delta.content = content == nil && text.isEmpty ? nil : text
        }
        return [chunk]
    }

    /// The end of the stream: what is still held back, and the schema check.
    func finish() throws -> [ChatChunk] {
        var chunks: [ChatChunk] = []
        let open = Set(windows.keys).union(streams.keys).subtracting(flushed).sorted()
        for choice in open {
            let text = try flush(choice)
            guard !text.isEmpty else { continue }
            chunks.append(ChatChunk(
                id: template?.id ?? "", created: template?.created ?? Int(Date().timeIntervalSince1970), model: template?.model ?? "",
                choices: [.init(index: choice, delta: .init(content: text))]))
        }
        if let validator, let problem = validator.firstError(text: schemaText) {
            findings.append(.init(stage: "output", category: "schema", action: enforcing ? "block" : "flag", detail: String(problem.prefix(300))))
            if enforcing {
                verdict = "blocked"
                throw SwitchyardError(
                    code: .guardrailSchemaFailed,
                    message: "guardrail '\(policy.name)': the streamed answer does not match the response_format schema (\(problem.prefix(300))); "
                        + "a stream cannot be re-asked.",
                    status: 502)
            }
        }
        return chunks
    }

    private func pass(_ delta: String, choice: Int) throws -> String {
        var text = delta
        if scansPII {
            var window = windows[choice] ?? OutputWindow(window: windowSize, treatment: treatment, types: policy.output.piiTypes)
            var failure: (any Error)?
            let step = window.feed(text) { scan($0, failure: &failure) }
            windows[choice] = window
            text = step.text
            try settle(step.found, failure: failure)
        }
        return rehydrate(record(text, choice: choice), choice: choice, final: false)
    }

    private func flush(_ choice: Int) throws -> String {
        guard flushed.insert(choice).inserted else { return "" }
        var text = ""
        if var window = windows[choice] {
            var failure: (any Error)?
            let step = window.finish { scan($0, failure: &failure) }
            windows[choice] = window
            text = step.text
            try settle(step.found, failure: failure)
        }
        return rehydrate(record(text, choice: choice), choice: choice, final: true)
    }

    private var treatment: OutputWindow.Treatment { enforcing && policy.output.pii == .redact ? .redact : .keep }

    private func scan(_ text: String, failure: inout (any Error)?) -> [PIISpan] {
        guard failure == nil else { return [] }
        do {
            guard let detector else { throw GuardrailError("no guard detector is available in this build") }
            return try detector.scanPII(text)
        } catch {
            failure = error
            return []
        }
    }

    /// Records what a window released; a block or a failed detector (failing closed) ends the stream.
    private func settle(_ found: [PIISpan], failure: (any Error)?) throws {
        if let failure {
            let reason = (failure as? GuardrailError)?.message ?? String(describing: failure)
            findings.append(.init(stage: "output", category: "error", action: policy.onError.rawValue, detail: String(reason.prefix(300))))
            scansPII = false
            if policy.onError == .block, enforcing {
                verdict = "error"
                throw Gateway.outputCheckFailed(policy: policy.name, reason: reason)
            }
        }
        guard !found.isEmpty else { return }
        let finding = GuardTrace.Finding(stage: "output", category: "pii", action: policy.output.pii.rawValue, types: Gateway.counts(found))
        if let index = findings.firstIndex(where: { $0.stage == "output" && $0.category == "pii" }) {
            var merged = findings[index].types ?? [:]
            for (type, count) in finding.types ?? [:] { merged[type, default: 0] += count }
            findings[index].types = merged
        } else {
            findings.append(finding)
        }
        if enforcing, policy.output.pii == .block {
            verdict = "blocked"
            throw Gateway.answerBlocked(policy: policy.name, spans: found)
        }
    }

    private func record(_ text: String, choice: Int) -> String {
        if choice == 0 {
            if rehydrator != nil { cacheText += text }
            if validator != nil { schemaText += text }
        }
        return text
    }

    private func rehydrate(_ text: String, choice: Int, final: Bool) -> String {
        guard let rehydrator else { return text }
        var stream = streams[choice] ?? rehydrator.stream()
        var output = stream.feed(text)
        if final { output += stream.finish() }
        streams[choice] = stream
        return output
    }
}
