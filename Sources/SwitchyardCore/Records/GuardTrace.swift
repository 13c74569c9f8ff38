import Foundation

/// What the guards saw and did for one request: the request log keeps it, `explain` shows it, and
/// its summary is the `x-switchyard-guard` header. It names kinds and counts, never the values.
public struct GuardTrace: Sendable, Hashable, Codable {
    /// What the guards found in one place.
    public struct Finding: Sendable, Hashable, Codable {
        /// `input` or `output`.
        public var stage: String
        /// `pii`, `injection`, `schema` or `error`.
        public var category: String
        /// `user`, `tool_output`, `memory` for input; nil for output.
        public var channel: String?
        /// What the policy did (or, in shadow mode, would have done): `flag`, `redact`, `mask`, `block`, `route-local`.
        public var action: String
        /// Kinds of personal data and how many of each.
        public var types: [String: Int]?
        /// The injection score.
        public var score: Double?
        /// A short reason (the detector's, or the validation error).
        public var detail: String?

        public init(
            stage: String, category: String, channel: String? = nil, action: String, types: [String: Int]? = nil, score: Double? = nil,
            detail: String? = nil
        ) {
            self.stage = stage
            self.category = category
            self.channel = channel
            self.action = action
            self.types = types
            self.score = score
            self.detail = detail
        }
    }

    public var policy: String
    /// True in shadow mode: verdicts recorded, nothing enforced.
    public var shadow: Bool
    /// The highest injection score of the input, when injection was checked.
    public var injectionScore: Double?
    public var findings: [Finding]
    /// `pass`, `flagged`, `changed` (redacted, masked or routed), `blocked` or `error`.
    public var verdict: String
    /// Re-asks made to get an answer that matches the request's schema.
    public var schemaReasks: Int?

    public init(policy: String, shadow: Bool) {
        self.policy = policy
        self.shadow = shadow
        self.findings = []
        self.verdict = "pass"
    }

    enum CodingKeys: String, CodingKey {
        case policy, shadow, findings, verdict
        case injectionScore = "injection_score"
        case schemaReasks = "schema_reasks"
    }

    /// `strict; input=pii:redact(EMAIL_ADDRESS*2); injection=0.02` — printable ASCII only.
    public var summary: String {
        var parts = [policy + (shadow ? " (shadow)" : "")]
        for stage in ["input", "output"] {
            var items: [String] = []
            for finding in findings where finding.stage == stage && finding.category != "injection" {
                var item = "\(finding.category):\(finding.action)"
                if let types = finding.types, !types.isEmpty {
                    item += "(" + types.sorted { $0.key < $1.key }.map { "\($0.key)*\($0.value)" }.joined(separator: ",") + ")"
                }
                if !items.contains(item) { items.append(item) }
            }
            if !items.isEmpty { parts.append("\(stage)=" + items.joined(separator: ",")) }
        }
        if let score = injectionScore {
            let flagged = findings.first { $0.category == "injection" }
            parts.append(String(format: "injection=%.2f", score) + (flagged.map { ":\($0.action)" } ?? ""))
        }
        if let reasks = schemaReasks { parts.append("schema_reasks=\(reasks)") }
        parts.append("verdict=\(verdict)")
        return parts.joined(separator: "; ")
    }

    /// Adds a finding, merging the counts of one with the same stage, category, channel and action.
    public mutating func add(_ finding: Finding) {
        if let index = findings.firstIndex(where: {
            $0.stage == finding.stage && $0.category == finding.category && $0.channel == finding.channel && $0.action == finding.action
        }), finding.category == "pii" {
            var merged = findings[index].types ?? [:]
            for (type, count) in finding.types ?? [:] { merged[type, default: 0] += count }
            findings[index].types = merged
            return
        }
        findings.append(finding)
    }
}
