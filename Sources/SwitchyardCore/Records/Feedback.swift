import Foundation

/// A feedback value as a client sent it: a verdict (`true`/`false`) or a finite number (a rating,
/// a score). Reports average both; a boolean counts as 0 or 1.
public enum FeedbackValue: Sendable, Hashable {
    case bool(Bool)
    case number(Double)

    /// 0 or 1 for a verdict, the number itself otherwise.
    public var number: Double {
        switch self {
        case .bool(let flag): return flag ? 1 : 0
        case .number(let value): return value
        }
    }

    public var isBool: Bool {
        if case .bool = self { return true }
        return false
    }

    public var json: JSONValue {
        switch self {
        case .bool(let flag): return .bool(flag)
        case .number(let value): return Int64(exactly: value).map { .int($0) } ?? .double(value)
        }
    }
}

/// One piece of feedback on a logged request or on an episode (several requests a client tied
/// together with `x-switchyard-episode-id`). Several for the same target and metric are all kept;
/// reports count the newest.
public struct Feedback: Sendable, Hashable {
    /// `fb_` and 24 hex digits.
    public var id: String
    /// Exactly one of `requestID` and `episodeID` is set.
    public var requestID: String?
    public var episodeID: String?
    /// `helpful`, `thumbs`, `rating:accuracy`… (1 to 64 of `A-Z a-z 0-9 _ . : -`).
    public var metric: String
    public var value: FeedbackValue
    public var comment: String?
    public var createdAt: Date
    /// The key that gave it (`key_…`), nil without auth.
    public var keyID: String?

    public init(
        id: String, requestID: String?, episodeID: String?, metric: String, value: FeedbackValue, comment: String? = nil,
        createdAt: Date, keyID: String? = nil
    ) {
        self.id = id
        self.requestID = requestID
        self.episodeID = episodeID
        self.metric = metric
        self.value = value
        self.comment = comment
        self.createdAt = createdAt
        self.keyID = keyID
    }

    /// Metric names: short, and safe in a URL, a CSV cell and a report column.
    public static let metricLengths = 1...64
    /// Longest comment, in UTF-8 bytes.
    public static let maximumCommentBytes = 4096
    /// Episode ids (header and body): printable ASCII, at most this many characters.
    public static let maximumEpisodeIDLength = 128

    public static func isValidMetric(_ text: String) -> Bool {
        metricLengths.contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "_.:-".utf8.contains(byte)
            }
    }

    /// 1 to 128 characters of printable ASCII (space to `~`), not only spaces.
    public static func isValidEpisodeID(_ text: String) -> Bool {
        (1...maximumEpisodeIDLength).contains(text.utf8.count)
            && text.utf8.allSatisfy { (0x20...0x7E).contains($0) }
            && text.utf8.contains { $0 != 0x20 }
    }

    /// A new id: `fb_`, 12 hex digits of milliseconds since 1970, 12 random hex digits (ids sort by time).
    public static func newID(now: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, (now.timeIntervalSince1970 * 1000).rounded())) & 0xFFFF_FFFF_FFFF
        let random = (generator.next() as UInt64) & 0xFFFF_FFFF_FFFF
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
        }
        return "fb_" + hex(milliseconds) + hex(random)
    }
}

/// The API's and the log's JSON form: `{"id", "object": "feedback", "request_id", "episode_id",
/// "metric", "value", "comment", "created_at"}`, `created_at` in Unix seconds like the request log.
extension Feedback: Codable {
    enum CodingKeys: String, CodingKey {
        case id, object, metric, value, comment
        case requestID = "request_id"
        case episodeID = "episode_id"
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let raw = try c.decode(JSONValue.self, forKey: .value)
        let value: FeedbackValue
        switch raw {
        case .bool(let flag): value = .bool(flag)
        default:
            guard let number = raw.finiteDoubleValue else {
                throw DecodingError.dataCorruptedError(forKey: .value, in: c, debugDescription: "value must be a boolean or a finite number")
            }
            value = .number(number)
        }
        self.init(
            id: try c.decode(String.self, forKey: .id), requestID: try c.decodeIfPresent(String.self, forKey: .requestID),
            episodeID: try c.decodeIfPresent(String.self, forKey: .episodeID), metric: try c.decode(String.self, forKey: .metric),
            value: value, comment: try c.decodeIfPresent(String.self, forKey: .comment),
            createdAt: Date(timeIntervalSince1970: try c.decode(Double.self, forKey: .createdAt)))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode("feedback", forKey: .object)
        try c.encode(requestID, forKey: .requestID)
        try c.encode(episodeID, forKey: .episodeID)
        try c.encode(metric, forKey: .metric)
        try c.encode(value.json, forKey: .value)
        try c.encode(comment, forKey: .comment)
        try c.encode((createdAt.timeIntervalSince1970 * 1000).rounded() / 1000, forKey: .createdAt)
    }
}

/// How much feedback a group got on one metric, and its mean (a verdict counts 0 or 1).
public struct FeedbackStat: Sendable, Hashable, Codable {
    public var count: Int
    public var mean: Double

    public init(count: Int, mean: Double) {
        self.count = count
        self.mean = mean
    }

    public var json: JSONValue { ["count": .int(Int64(count)), "mean": .double(mean)] }
}

/// One logged answer and what it was worth: a row `switchyard route train --from-log` (or an eval's
/// results, `--from-eval`) turns into training data.
public struct OutcomeObservation: Sendable, Hashable {
    public var requestID: String
    public var prompt: String
    /// The configured model that answered.
    public var model: String
    /// The feedback value scaled to [0, 1] (see `FeedbackNormalization`).
    public var value: Double
    public var createdAt: Date
    /// What cross-validation groups by: the key's `source` tag, else its team, else the episode.
    public var source: String?

    public init(requestID: String, prompt: String, model: String, value: Double, createdAt: Date, source: String? = nil) {
        self.requestID = requestID
        self.prompt = prompt
        self.model = model
        self.value = value
        self.createdAt = createdAt
        self.source = source
    }
}

/// Scales one metric's feedback values to [0, 1] for training: a verdict is 0 or 1; numbers stay as
/// they are when all of them lie in [0, 1], otherwise they are min-max scaled over the metric's
/// numbers (a 1-5 rating: 1 → 0, 5 → 1). Numbers that are all the same carry no signal: 0.5.
public struct FeedbackScale: Sendable, Hashable {
    public var low: Double
    public var high: Double
    /// False when every number already lies in [0, 1].
    public var rescales: Bool

    /// The scale of a metric, from all its values.
    public init(_ values: [FeedbackValue]) {
        let numbers = values.compactMap { value -> Double? in
            if case .number(let number) = value { return number }
            return nil
        }
        low = numbers.min() ?? 0
        high = numbers.max() ?? 1
        rescales = !(low >= 0 && high <= 1)
    }

    public func scaled(_ value: FeedbackValue) -> Double {
        switch value {
        case .bool(let flag): return flag ? 1 : 0
        case .number(let number):
            guard rescales else { return number }
            guard high > low else { return 0.5 }
            return min(1, max(0, (number - low) / (high - low)))
        }
    }

    /// Every value of one metric, scaled over them all.
    public static func normalize(_ values: [FeedbackValue]) -> [Double] {
        let scale = FeedbackScale(values)
        return values.map(scale.scaled)
    }
}
