import Foundation

/// Kinds of personal data the guards find, named as Presidio names them.
public enum PIIType: String, CaseIterable, Sendable, Codable, Hashable {
    case person = "PERSON"
    case emailAddress = "EMAIL_ADDRESS"
    case phoneNumber = "PHONE_NUMBER"
    case creditCard = "CREDIT_CARD"
    case ibanCode = "IBAN_CODE"
    case usSSN = "US_SSN"
    case ipAddress = "IP_ADDRESS"
    case dateTime = "DATE_TIME"
    case location = "LOCATION"
    case address = "ADDRESS"
    /// API keys, bearer tokens, private keys and other credentials.
    case secret = "SECRET"
}

/// One piece of personal data in a text.
///
/// Offsets count Unicode scalars (code points), `end` exclusive — what Python's `str` indices count, and what
/// `guard scan` prints.
public struct PIISpan: Sendable, Hashable, Codable {
    public var start: Int
    public var end: Int
    public var type: PIIType
    /// 0...1; pattern matches with a valid checksum score 1.
    public var score: Double

    public init(start: Int, end: Int, type: PIIType, score: Double = 1) {
        self.start = start
        self.end = end
        self.type = type
        self.score = score
    }
}

/// Where a text reaches the model: injection detection reads the three alike but reports them apart.
public enum GuardChannel: String, Sendable, Codable, CaseIterable {
    /// A user turn.
    case user
    /// A tool result, MCP result or retrieved chunk the model reads (indirect injection).
    case toolOutput = "tool_output"
    /// Persisted memory: notes and conversation summaries.
    case memory
}

/// The injection detector's answer for one text.
public struct InjectionVerdict: Sendable, Hashable, Codable {
    /// 0...1, higher is more likely an injection or jailbreak attempt.
    public var score: Double
    /// `score >= threshold` at the detector's threshold.
    public var flagged: Bool
    /// What tipped it, when something did (`"encoded: base64"`, `"window 3"`), for the log and `explain`.
    public var reason: String?

    public init(score: Double, flagged: Bool, reason: String? = nil) {
        self.score = score
        self.flagged = flagged
        self.reason = reason
    }
}

/// Finds prompt injections and personal data. Implementations are thread-safe and synchronous (they run
/// on the caller's thread: a scan of a 1,000-character prompt takes a few milliseconds).
public protocol GuardDetector: Sendable {
    /// Scores `text` as it reaches the model on `channel`; long texts are scored in windows.
    func scanInjection(_ text: String, channel: GuardChannel) throws -> InjectionVerdict
    /// Personal data in `text`, sorted by start, never overlapping.
    func scanPII(_ text: String) throws -> [PIISpan]
    /// Both at once; detectors that read a text once for both (the native one: one encoder pass) override it.
    func scan(_ text: String, channel: GuardChannel) throws -> (injection: InjectionVerdict, pii: [PIISpan])
    /// Several texts, as one request's checks (a requirement, so the native detector's batched, off-loop version is
    /// the one called through `any GuardDetector`).
    func scan(_ items: [GuardScanItem]) async throws -> [(injection: InjectionVerdict, pii: [PIISpan])]
}

extension GuardDetector {
    public func scan(_ text: String, channel: GuardChannel) throws -> (injection: InjectionVerdict, pii: [PIISpan]) {
        (try scanInjection(text, channel: channel), try scanPII(text))
    }

    /// Scans every item, in order, without blocking the caller's thread for long: the default runs the
    /// synchronous checks here; the native detector overrides it to batch the texts through its encoder on a queue
    /// of its own, off the server's event loops.
    public func scan(_ items: [GuardScanItem]) async throws -> [(injection: InjectionVerdict, pii: [PIISpan])] {
        try items.map { item in
            switch (item.injection, item.pii) {
            case (true, true): return try scan(item.text, channel: item.channel)
            case (true, false): return (try scanInjection(item.text, channel: item.channel), [])
            default: return (InjectionVerdict(score: 0, flagged: false), item.pii ? try scanPII(item.text) : [])
            }
        }
    }
}

/// One text to scan, and which checks it needs.
public struct GuardScanItem: Sendable {
    public var text: String
    public var channel: GuardChannel
    public var injection: Bool
    public var pii: Bool

    public init(text: String, channel: GuardChannel, injection: Bool, pii: Bool) {
        self.text = text
        self.channel = channel
        self.injection = injection
        self.pii = pii
    }
}

/// A detector that could not run (model missing, input it cannot read). Policies fail closed on it
/// unless they say `on_error: allow`.
public struct GuardrailError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The input, not the detector, is at fault (a text longer than the detector scans): a client error.
    public var isInputTooLarge = false
    public init(_ message: String, isInputTooLarge: Bool = false) {
        self.message = message
        self.isInputTooLarge = isInputTooLarge
    }
    public var description: String { message }
}
