import Foundation

/// Why a request went where it went: the candidates considered, the ones dropped and why, and every
/// attempt with its outcome. Kept in the request log and shown by `switchyard explain`.
public struct RouteTrace: Sendable, Hashable, Codable {
    public struct Candidate: Sendable, Hashable, Codable {
        public var deployment: String
        public var group: String
        /// nil when kept; otherwise why it was dropped.
        public var excluded: String?

        public init(deployment: String, group: String, excluded: String? = nil) {
            self.deployment = deployment
            self.group = group
            self.excluded = excluded
        }
    }

    public struct Attempt: Sendable, Hashable, Codable {
        public var deployment: String
        public var provider: String
        public var group: String
        /// 0 for the first try on a deployment, 1 for the first retry…
        public var retry: Int
        /// HTTP status of the outcome (200 on success).
        public var status: Int
        public var error: String?
        public var milliseconds: Double

        public init(
            deployment: String, provider: String, group: String, retry: Int, status: Int, error: String? = nil,
            milliseconds: Double
        ) {
            self.deployment = deployment
            self.provider = provider
            self.group = group
            self.retry = retry
            self.status = status
            self.error = error
            self.milliseconds = milliseconds
        }
    }

    /// The model or route the client asked for.
    public var requested: String
    /// `model`, `group` or `auto`.
    public var kind: String
    public var strategy: String?
    /// For auto routing: the request features and the classifier's verdict.
    public var features: [String: JSONValue]?
    public var candidates: [Candidate]
    public var attempts: [Attempt]
    public var notes: [String]

    public init(requested: String, kind: String, strategy: String? = nil) {
        self.requested = requested
        self.kind = kind
        self.strategy = strategy
        self.candidates = []
        self.attempts = []
        self.notes = []
    }

    /// A one-line summary for the `x-switchyard-route` header: `fast: a(503) -> b(503) -> c(200)`.
    public var summary: String {
        let chain = attempts.map { "\($0.deployment)(\($0.status))" }.joined(separator: " -> ")
        var text = "\(requested): \(chain.isEmpty ? "no attempt" : chain)"
        // A learned router's verdict goes in the header too: `auto [score 0.8123 -> strong]: m4(200)`.
        if let score = features?["score"]?.doubleValue {
            let tier = features?["tier"]?.stringValue ?? "none"
            text = "\(requested) [score \(String(format: "%.4f", score)) -> \(tier)]: \(chain.isEmpty ? "no attempt" : chain)"
        }
        return String(text.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? Character($0) : "?" })
    }
}
