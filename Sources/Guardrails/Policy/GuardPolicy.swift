import Foundation

/// What a policy does with a finding.
public enum GuardAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Nothing: the check does not even run.
    case allow
    /// Let it through; say so in the `x-switchyard-guard` header and the request log.
    case flag
    /// Replace each value with its kind's label (`[EMAIL_ADDRESS]`).
    case redact
    /// Send stable placeholders upstream (`[PERSON_1]`) and put the originals back in the answer.
    case mask
    /// Refuse the request (or end the answer) with a `guardrail_blocked` error.
    case block
    /// A request with personal data may only go to models tagged `local`.
    case routeLocal = "route-local"

    /// Actions that make sense for prompt injection in the input.
    public static let injection: [GuardAction] = [.allow, .flag, .block]
    /// Actions for personal data in the input.
    public static let inputPII: [GuardAction] = allCases
    /// Actions for personal data in the answer (masking is undone in the answer whatever this says).
    public static let outputPII: [GuardAction] = [.allow, .flag, .redact, .block]
}

/// A named set of guard rules, attached to models, groups, routes, keys and teams.
public struct GuardPolicy: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Apply the actions.
        case enforce
        /// Evaluate and record the verdicts, change nothing.
        case shadow
    }

    /// What happens when the detector cannot run.
    public enum ErrorHandling: String, Sendable, Hashable, CaseIterable {
        /// Fail closed: the request is refused with `guardrail_error`.
        case block
        /// Fail open: the request goes on unchecked (and the log says so).
        case allow
    }

    public struct Input: Sendable, Hashable {
        public var injection: GuardAction = .allow
        public var pii: GuardAction = .allow
        /// Only these kinds count; nil = all.
        public var piiTypes: Set<PIIType>?
        /// Scores at or above this are injections; nil = the detector's own verdict.
        public var injectionThreshold: Double?
        public init() {}
    }

    public struct Output: Sendable, Hashable {
        public var pii: GuardAction = .allow
        public var piiTypes: Set<PIIType>?
        /// Validate answers against the request's JSON schema, with this many re-asks; nil = no schema check.
        public var schemaReasks: Int?
        public init() {}
    }

    public var name: String
    public var mode: Mode = .enforce
    public var onError: ErrorHandling = .block
    /// Where the input checks look.
    public var channels: Set<GuardChannel> = Set(GuardChannel.allCases)
    /// `channels` was written in the policy: then system and developer messages (the memory channel) are read for
    /// injections too; by default they are the operator's own instructions and only read for personal data.
    public var channelsExplicit = false
    public var input = Input()
    public var output = Output()

    public init(name: String) { self.name = name }

    /// Most re-asks a policy may ask for: each is a full upstream call.
    public static let maximumReasks = 10

    /// True when any input check runs.
    public var checksInput: Bool { input.injection != .allow || input.pii != .allow }

    /// True when any output check runs (masking's rehydration aside).
    public var checksOutput: Bool { output.pii != .allow || output.schemaReasks != nil }

    /// True when `type` is one the input rules care about.
    public func inputCounts(_ type: PIIType) -> Bool { input.piiTypes.map { $0.contains(type) } ?? true }

    /// True when `type` is one the output rules care about.
    public func outputCounts(_ type: PIIType) -> Bool { output.piiTypes.map { $0.contains(type) } ?? true }
}
