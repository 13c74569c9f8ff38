import Foundation

/// A `POST /v1/responses` request (OpenAI's Responses API), read field by field from the client's
/// JSON so that every wrong value is a 400 naming its field. Switchyard serves it over any model by
/// translating it to a chat request (`ResponsesTranslator`).
public struct ResponsesRequest: Sendable {
    public var model: String
    /// This request's input, normalized to items (a string input is one user message).
    public var input: [JSONValue]
    public var instructions: String?
    /// Function tools as the client sent them (echoed on the response).
    public var tools: [JSONValue]
    public var toolChoice: JSONValue?
    public var parallelToolCalls: Bool?
    /// `text.format`: `{"type": "text" | "json_object" | "json_schema", ...}`.
    public var textFormat: JSONValue?
    public var temperature: Double?
    public var topP: Double?
    public var maxOutputTokens: Int?
    public var metadata: JSONValue?
    /// Keep the response for `GET`, `previous_response_id` and `input_items` (OpenAI's default: true).
    public var store: Bool
    public var previousResponseID: String?
    public var stream: Bool
    public var user: String?
    public var reasoningEffort: String?
    /// Switchyard's own options (`{"route": ..., "cache": ...}`), as on chat completions.
    public var switchyard: JSONValue?

    /// Fields this gateway reads; others that OpenAI defines are accepted and ignored (listed), and
    /// anything else is a 400, as OpenAI answers unknown parameters.
    static let ignored: Set<String> = [
        "include", "truncation", "service_tier", "prompt_cache_key", "prompt_cache_retention", "safety_identifier",
        "background", "top_logprobs", "max_tool_calls", "stream_options",
    ]
    /// Defined by OpenAI but not served here: refused by name rather than silently ignored.
    static let unserved: [String: String] = [
        "conversation": "conversation objects are not served; continue a conversation with previous_response_id",
        "prompt": "stored prompt templates are not served; send the prompt as input",
    ]
    static let known: Set<String> = [
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "temperature", "top_p",
        "max_output_tokens", "metadata", "store", "previous_response_id", "stream", "user", "reasoning", "switchyard",
    ]

    /// Most items one request may carry (input plus the stored conversation it continues).
    public static let maxItems = 10_000

    public init(model: String, input: [JSONValue]) {
        self.model = model
        self.input = input
        tools = []
        store = true
        stream = false
    }

    public static func parse(_ body: JSONValue) throws -> ResponsesRequest {
        guard let object = body.objectValue else {
            throw SwitchyardError.invalidRequest("The request body must be a JSON object.")
        }
        for key in object.keys.sorted() {
            if let reason = unserved[key], object[key] != .null {
                throw SwitchyardError.invalidRequest("\(key): \(reason).", param: key)
            }
        }
        for key in object.keys.sorted() where !known.contains(key) && !ignored.contains(key) && unserved[key] == nil {
            throw SwitchyardError.invalidRequest("Unknown parameter: '\(key.quotedPrefix(64))'.", param: key)
        }
        let reader = FieldReader(object: object)
        guard let model = try reader.string("model"), !model.isEmpty else {
            throw SwitchyardError.invalidRequest("model is required: the name of a model, group or route.", param: "model")
        }
        var request = ResponsesRequest(model: model, input: try Self.items(object["input"]))
        request.instructions = try reader.string("instructions")
        request.tools = try Self.tools(object["tools"])
        if let choice = object["tool_choice"], choice != .null { request.toolChoice = choice }
        request.parallelToolCalls = try reader.bool("parallel_tool_calls")
        if let text = object["text"], text != .null {
            guard let textObject = text.objectValue else {
                throw SwitchyardError.invalidRequest("text must be an object like {\"format\": {\"type\": \"text\"}}.", param: "text")
            }
            if let format = textObject["format"], format != .null { request.textFormat = format }
        }
        request.temperature = try reader.double("temperature", in: 0...2)
        request.topP = try reader.double("top_p", in: 0...1)
        request.maxOutputTokens = try reader.int("max_output_tokens", in: 1...Int(Int32.max))
        if let metadata = object["metadata"], metadata != .null {
            guard let entries = metadata.objectValue, entries.count <= 16,
                entries.allSatisfy({ $0.key.utf8.count <= 64 && ($0.value.stringValue?.utf8.count ?? .max) <= 512 })
            else {
                throw SwitchyardError.invalidRequest(
                    "metadata must be an object of at most 16 string values (keys up to 64 characters, values up to 512).",
                    param: "metadata")
            }
            request.metadata = metadata
        }
        request.store = try reader.bool("store") ?? true
        request.previousResponseID = try reader.string("previous_response_id")
        request.stream = try reader.bool("stream") ?? false
        request.user = try reader.string("user")
        if let reasoning = object["reasoning"], reasoning != .null {
            guard let settings = reasoning.objectValue else {
                throw SwitchyardError.invalidRequest("reasoning must be an object like {\"effort\": \"low\"}.", param: "reasoning")
            }
            if let effort = settings["effort"], effort != .null {
                guard let text = effort.stringValue, ["none", "minimal", "low", "medium", "high", "xhigh"].contains(text) else {
                    throw SwitchyardError.invalidRequest(
                        "reasoning.effort must be none, minimal, low, medium, high or xhigh.", param: "reasoning.effort")
                }
                request.reasoningEffort = text
            }
        }
        if let switchyard = object["switchyard"], switchyard != .null { request.switchyard = switchyard }
        return request
    }

    /// `input`: a string (one user message) or a list of items; each item is checked here.
    static func items(_ value: JSONValue?) throws -> [JSONValue] {
        switch value {
        case .string(let text)?:
            return [["type": "message", "role": "user", "content": .string(text)]]
        case .array(let items)?:
            guard items.count <= maxItems else {
                throw SwitchyardError.invalidRequest("input takes at most \(maxItems) items.", param: "input")
            }
            for (index, item) in items.enumerated() { try ResponsesTranslator.checkItem(item, field: "input[\(index)]") }
            return items
        case nil, .null?:
            throw SwitchyardError.invalidRequest("input is required: a string or a list of items.", param: "input")
        default:
            throw SwitchyardError.invalidRequest("input must be a string or a list of items.", param: "input")
        }
    }

    static func tools(_ value: JSONValue?) throws -> [JSONValue] {
        guard let value, value != .null else { return [] }
        guard let tools = value.arrayValue, tools.count <= 512 else {
            throw SwitchyardError.invalidRequest("tools must be a list of at most 512 tools.", param: "tools")
        }
        for (index, tool) in tools.enumerated() {
            let type = tool["type"]?.stringValue ?? ""
            guard type == "function" else {
                throw SwitchyardError.invalidRequest(
                    "tools[\(index)].type is '\(type.quotedPrefix(40))'; Switchyard serves function tools "
                        + "(its MCP tools are offered through the gateway's own configuration).",
                    param: "tools[\(index)].type")
            }
            guard let name = tool["name"]?.stringValue, !name.isEmpty, name.utf8.count <= 128 else {
                throw SwitchyardError.invalidRequest("tools[\(index)].name must be a name of 1 to 128 characters.", param: "tools[\(index)].name")
            }
            if let parameters = tool["parameters"], parameters != .null, parameters.objectValue == nil {
                throw SwitchyardError.invalidRequest("tools[\(index)].parameters must be a JSON schema object.", param: "tools[\(index)].parameters")
            }
        }
        return tools
    }
}

/// Reads typed fields from a JSON object with range checks, each error naming the field.
public struct FieldReader: Sendable {
    let object: [String: JSONValue]
    var prefix = ""

    public init(object: [String: JSONValue], prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }

    public func string(_ key: String) throws -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw SwitchyardError.invalidRequest("\(prefix)\(key) must be a string.", param: prefix + key)
        }
    }

    public func bool(_ key: String) throws -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw SwitchyardError.invalidRequest("\(prefix)\(key) must be true or false.", param: prefix + key)
        }
    }

    public func double(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = object[key], value != .null else { return nil }
        guard let number = value.doubleValue, number.isFinite, range.contains(number) else {
            throw SwitchyardError.invalidRequest(
                "\(prefix)\(key) must be a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)).",
                param: prefix + key)
        }
        return number
    }

    public func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = object[key], value != .null else { return nil }
        let whole: Int?
        switch value {
        case .int(let number): whole = Int(exactly: number)
        case .double(let number): whole = number.isFinite && number.rounded() == number ? Int(exactly: number) : nil
        default: whole = nil
        }
        guard let whole, range.contains(whole) else {
            throw SwitchyardError.invalidRequest(
                "\(prefix)\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound).", param: prefix + key)
        }
        return whole
    }

    private static func format(_ number: Double) -> String {
        number.rounded() == number ? String(Int(number)) : String(number)
    }
}
