import Foundation

/// What the mock will do for one request, read from `[[directive]]`s in the last user message
/// (and from faults set for the model).
struct MockScript: Sendable {
    var reply: String?
    var toolCalls: [(name: String, arguments: String)] = []
    var wantsJSON = false
    var error: (status: Int, retryAfter: String?)?
    var delayMs = 0
    var chunkDelayMs: Int
    var disconnectAfter: Int?
    var malformed = false
    var hang = false
    var noUsage = false
    var cachedTokens = 0
    var stopLength = false

    init(text: String, fault: String?, defaultChunkDelayMs: Int) {
        chunkDelayMs = defaultChunkDelayMs
        for directive in Self.directives(in: text) + (fault.map { Self.directives(in: "[[\($0)]]") } ?? []) {
            apply(directive.name, directive.value)
        }
    }

    static func directives(in text: String) -> [(name: String, value: String)] {
        var result: [(String, String)] = []
        var rest = Substring(text)
        while let open = rest.range(of: "[["), let close = rest[open.upperBound...].range(of: "]]") {
            let body = rest[open.upperBound..<close.lowerBound]
            if let colon = body.firstIndex(of: ":") {
                result.append((body[..<colon].trimmingCharacters(in: .whitespaces), body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            } else {
                result.append((body.trimmingCharacters(in: .whitespaces), ""))
            }
            rest = rest[close.upperBound...]
        }
        return result
    }

    mutating func apply(_ name: String, _ value: String) {
        switch name {
        case "reply": reply = value
        case "tool":
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if let space = trimmed.firstIndex(where: { $0 == " " || $0 == "{" }) {
                toolCalls.append((String(trimmed[..<space]), trimmed[space...].trimmingCharacters(in: .whitespaces)))
            } else {
                toolCalls.append((trimmed, "{}"))
            }
        case "json": wantsJSON = true
        case "error":
            let parts = value.split(separator: " ")
            let status = parts.first.flatMap { Int($0) } ?? 500
            let retryAfter = parts.dropFirst().first { $0.hasPrefix("retry-after=") }.map { String($0.dropFirst(12)) }
            error = (status, retryAfter)
        case "delay": delayMs = Int(value) ?? 0
        case "chunk-delay": chunkDelayMs = Int(value) ?? 0
        case "disconnect-after": disconnectAfter = Int(value) ?? 0
        case "malformed": malformed = true
        case "hang": hang = true
        case "usage": noUsage = value == "none"
        case "cached": cachedTokens = Int(value) ?? 0
        case "stop": stopLength = value == "length"
        default: break
        }
    }
}

/// The protocol-neutral view of an incoming request.
struct MockConversation {
    var model: String
    var stream: Bool
    /// Text of every message, for token counts.
    var texts: [String]
    var lastUserText: String
    /// Tool results that come after the last user text, in order.
    var toolResults: [String]
    var wantsJSON: Bool
    var schema: Any?
    /// A tool the request forces (tool_choice), with its parameter schema.
    var forcedTool: (name: String, schema: Any?)?
}

/// What the mock answers, before it is written in a protocol.
struct MockAnswer {
    var text: String
    var toolCalls: [(id: String, name: String, arguments: String)]
    var promptTokens: Int
    var completionTokens: Int
    var cachedTokens: Int
    var stopLength: Bool
    var includeUsage: Bool

    init(conversation: MockConversation, script: MockScript, protocolName: String, idPrefix: String) {
        var text = script.reply ?? "Mock reply from \(protocolName) model \(conversation.model)."
        var calls: [(String, String, String)] = []
        if !conversation.toolResults.isEmpty {
            text = "Tool results: " + conversation.toolResults.joined(separator: " | ")
        } else if !script.toolCalls.isEmpty {
            text = ""
            for (index, call) in script.toolCalls.enumerated() { calls.append(("\(idPrefix)\(index + 1)", call.name, call.arguments)) }
        } else if let forced = conversation.forcedTool {
            text = ""
            let arguments = JSONSerialization.string(MockJSON.value(for: forced.schema))
            calls.append(("\(idPrefix)1", forced.name, arguments))
        } else if conversation.wantsJSON || script.wantsJSON {
            text = JSONSerialization.string(conversation.schema.map { MockJSON.value(for: $0) } ?? ["answer": "mock", "ok": true])
        }
        self.text = text
        self.toolCalls = calls
        self.promptTokens = conversation.texts.reduce(0) { $0 + (($1.utf8.count + 3) / 4) + 4 }
        let output = text + calls.map { $0.1 + $0.2 }.joined()
        self.completionTokens = max(1, (output.utf8.count + 3) / 4)
        self.cachedTokens = min(script.cachedTokens, promptTokens)
        self.stopLength = script.stopLength
        self.includeUsage = !script.noUsage
    }

    /// Stream pieces of the text: words with their leading spaces.
    var textPieces: [String] {
        guard !text.isEmpty else { return [] }
        var pieces: [String] = []
        var current = ""
        for character in text {
            if character == " ", !current.isEmpty {
                pieces.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    static func split(_ arguments: String) -> [String] {
        guard arguments.count > 1 else { return [arguments] }
        let middle = arguments.index(arguments.startIndex, offsetBy: arguments.count / 2)
        return [String(arguments[..<middle]), String(arguments[middle...])]
    }
}

/// JSON values generated to satisfy a schema, and helpers around JSONSerialization.
enum MockJSON {
    static func value(for schema: Any?) -> Any {
        guard let schema = schema as? [String: Any] else { return ["answer": "mock", "ok": true] }
        if let values = schema["enum"] as? [Any], let first = values.first { return first }
        if let const = schema["const"] { return const }
        if let options = (schema["anyOf"] ?? schema["oneOf"]) as? [Any], let first = options.first { return value(for: first) }
        var type = schema["type"]
        if let types = type as? [Any] { type = types.first { ($0 as? String) != "null" } }
        switch type as? String {
        case "string": return "mock"
        case "integer": return 1
        case "number": return 1.5
        case "boolean": return true
        case "null": return NSNull()
        case "array": return [value(for: schema["items"])]
        default:
            var object: [String: Any] = [:]
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (name, property) in properties { object[name] = value(for: property) }
            if properties.isEmpty { return ["answer": "mock", "ok": true] }
            return object
        }
    }
}

extension JSONSerialization {
    static func string(_ value: Any) -> String {
        guard let data = try? data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func bytes(_ value: Any) -> Data {
        (try? data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
    }
}
