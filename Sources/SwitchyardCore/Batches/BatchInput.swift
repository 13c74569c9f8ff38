import Foundation

/// Reads and validates a batch's requests before any of them runs, the way OpenAI does: a file with
/// any bad line fails as a whole, with each problem listed by line number (`errors.data`), so a
/// typo never turns into half a batch billed.
public enum BatchInput {
    /// The most requests one batch may hold (OpenAI's limit).
    public static let maxRequests = 50_000
    /// The longest `custom_id` accepted (OpenAI sets none; this keeps result lines bounded).
    public static let maxCustomIDBytes = 512
    /// At most this many problems are listed for one file.
    public static let maxReportedErrors = 100
    /// The endpoints a batch may target: the gateway executes these itself.
    public static let openAIEndpoints: Set<String> = ["/v1/chat/completions", "/v1/embeddings", "/v1/responses"]

    /// One request of an input file.
    public struct Request: Sendable, Hashable {
        public var customID: String
        public var body: JSONValue
    }

    /// A problem with one line, in the shape of OpenAI's `BatchError`.
    public struct Problem: Sendable, Hashable {
        public var code: String
        public var message: String
        /// 1-based line number in the file.
        public var line: Int?
        public var param: String?

        public init(code: String, message: String, line: Int?, param: String?) {
            self.code = code
            self.message = message
            self.line = line
            self.param = param
        }

        public var json: JSONValue {
            [
                "code": .string(code), "message": .string(message), "line": line.map { .int(Int64($0)) } ?? .null,
                "param": param.map { .string($0) } ?? .null,
            ]
        }
    }

    /// What reading an input file gave: its requests, or every problem found.
    public enum Outcome: Sendable {
        case requests([Request])
        case invalid([Problem])
    }

    /// The requests of an OpenAI batch input file (JSONL of `{"custom_id", "method": "POST", "url", "body"}`)
    /// for `endpoint`, or every problem found (at most `maxReportedErrors`). Blank lines are skipped.
    public static func parseOpenAI(_ content: Data, endpoint: String) -> Outcome {
        var requests: [Request] = []
        var problems: [Problem] = []
        var seen: Set<String> = []
        var lineNumber = 0
        func report(_ code: String, _ message: String, param: String?) {
            if problems.count < maxReportedErrors { problems.append(Problem(code: code, message: message, line: lineNumber, param: param)) }
        }
        for slice in content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = slice.last == UInt8(ascii: "\r") ? slice.dropLast() : slice
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard requests.count + problems.count < maxRequests else {
                problems.append(Problem(
                    code: "too_many_requests", message: "The file has more than \(maxRequests) requests; split it into several batches.",
                    line: lineNumber, param: nil))
                break
            }
            guard let value = JSONValue.parse(Data(bytes)), let object = value.objectValue else {
                report("invalid_json_line", "Line \(lineNumber) is not a JSON object.", param: nil)
                continue
            }
            guard let customID = object["custom_id"]?.stringValue, !customID.isEmpty else {
                report("missing_required_parameter", "Line \(lineNumber) has no custom_id (a non-empty string).", param: "custom_id")
                continue
            }
            guard customID.utf8.count <= maxCustomIDBytes else {
                report("invalid_custom_id", "Line \(lineNumber): custom_id is longer than \(maxCustomIDBytes) bytes.", param: "custom_id")
                continue
            }
            guard seen.insert(customID).inserted else {
                report(
                    "duplicate_custom_id", "Line \(lineNumber): custom_id '\(customID.quotedPrefix(80))' appears more than once; each must be unique.",
                    param: "custom_id")
                continue
            }
            guard object["method"]?.stringValue == "POST" else {
                report("invalid_method", "Line \(lineNumber): method must be \"POST\".", param: "method")
                continue
            }
            guard let url = object["url"]?.stringValue else {
                report("missing_required_parameter", "Line \(lineNumber) has no url.", param: "url")
                continue
            }
            guard url == endpoint else {
                report(
                    "mismatched_endpoint", "Line \(lineNumber): url '\(url.quotedPrefix(80))' is not the batch's endpoint \(endpoint).",
                    param: "url")
                continue
            }
            guard let body = object["body"], body.objectValue != nil else {
                report("invalid_request", "Line \(lineNumber): body must be a JSON object.", param: "body")
                continue
            }
            requests.append(Request(customID: customID, body: body))
        }
        if !problems.isEmpty { return .invalid(problems) }
        if requests.isEmpty {
            return .invalid([Problem(code: "empty_file", message: "The input file holds no requests.", line: nil, param: nil)])
        }
        return .requests(requests)
    }

    /// Anthropic's `custom_id` rule: 1 to 64 of letters, digits, `_` and `-`.
    public static func isValidAnthropicCustomID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D }
    }

    /// The requests of a Message Batches create body (`{"requests": [{"custom_id", "params"}]}`), or
    /// the first problem as a client error naming the field.
    public static func parseAnthropic(_ body: JSONValue) throws -> [Request] {
        guard let list = body["requests"]?.arrayValue else {
            throw SwitchyardError.invalidRequest("requests must be a list of {custom_id, params}.", param: "requests")
        }
        guard !list.isEmpty else { throw SwitchyardError.invalidRequest("requests must not be empty.", param: "requests") }
        guard list.count <= maxRequests else {
            throw SwitchyardError.invalidRequest("requests may hold at most \(maxRequests) requests.", param: "requests")
        }
        var seen: Set<String> = []
        var requests: [Request] = []
        requests.reserveCapacity(list.count)
        for (index, item) in list.enumerated() {
            guard let customID = item["custom_id"]?.stringValue, isValidAnthropicCustomID(customID) else {
                throw SwitchyardError.invalidRequest(
                    "requests[\(index)].custom_id must be 1 to 64 letters, digits, '_' or '-'.", param: "requests[\(index)].custom_id")
            }
            guard seen.insert(customID).inserted else {
                throw SwitchyardError.invalidRequest(
                    "requests[\(index)].custom_id '\(customID)' is used more than once; each must be unique.",
                    param: "requests[\(index)].custom_id")
            }
            guard let params = item["params"], params.objectValue != nil else {
                throw SwitchyardError.invalidRequest("requests[\(index)].params must be an object.", param: "requests[\(index)].params")
            }
            if params["stream"]?.boolValue == true {
                throw SwitchyardError.invalidRequest(
                    "requests[\(index)].params.stream: streaming is not supported in a batch.", param: "requests[\(index)].params.stream")
            }
            requests.append(Request(customID: customID, body: params))
        }
        return requests
    }
}
