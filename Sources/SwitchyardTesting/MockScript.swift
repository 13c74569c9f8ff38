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
    /// `[[verbatim: text]]`: answer exactly this, even when the request asks for JSON or a tool.
    var verbatim = false
    /// `[[echo]]`: answer with the last user message, its directives taken out (what a guard did to it shows).
    var echo = false
    /// `[[piece-chars: N]]`: stream the text in pieces of N characters instead of words.
    var pieceCharacters: Int?

    /// The upstream model asked, for `[[reply-for MODEL: TEXT]]`.
    var model: String?

    init(text: String, fault: String?, defaultChunkDelayMs: Int, model: String? = nil) {
        chunkDelayMs = defaultChunkDelayMs
        self.model = model?.lowercased()
        // A fault is directive text; it may be bare (`error: 500`) or already bracketed (`[[delay: 10]] [[error: 500]]`).
        let faultDirectives = fault.map { $0.contains("[[") ? Self.directives(in: $0) : Self.directives(in: "[[\($0)]]") } ?? []
        for directive in Self.directives(in: text) + faultDirectives {
            apply(directive.name, directive.value)
        }
    }

    /// The `[[name]]` and `[[name: value]]` directives in `text`, in order. A value may hold JSON with
    /// brackets of its own (`[[tool: f {"a": [[1]]}]]`): the directive ends at the first `]]` outside
    /// JSON strings and outside `{…}` / `[…]` opened inside it.
    static func directives(in text: String) -> [(name: String, value: String)] {
        var result: [(String, String)] = []
        let characters = Array(text)
        var index = 0
        while index + 1 < characters.count {
            guard characters[index] == "[", characters[index + 1] == "[" else {
                index += 1
                continue
            }
            var cursor = index + 2
            var depth = 0
            var inString = false
            var end: Int?
            while cursor < characters.count {
                let character = characters[cursor]
                if inString {
                    if character == "\\" { cursor += 1 } else if character == "\"" { inString = false }
                } else if character == "\"" {
                    inString = true
                } else if character == "{" || character == "[" {
                    depth += 1
                } else if character == "}" || (character == "]" && depth > 0) {
                    depth = max(0, depth - 1)
                } else if character == "]", cursor + 1 < characters.count, characters[cursor + 1] == "]" {
                    end = cursor
                    break
                }
                cursor += 1
            }
            if end == nil {
                // Unbalanced brackets or quotes in plain text: fall back to the first `]]`.
                end = (index + 2..<max(index + 2, characters.count - 1)).first { characters[$0] == "]" && characters[$0 + 1] == "]" }
            }
            guard let end else { break }
            let body = String(characters[(index + 2)..<end])
            if let colon = body.firstIndex(of: ":") {
                result.append((
                    body[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                    body[body.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                ))
            } else {
                result.append((body.trimmingCharacters(in: .whitespaces).lowercased(), ""))
            }
            index = end + 2
        }
        return result
    }

    mutating func apply(_ name: String, _ value: String) {
        switch name {
        case "reply": reply = value
        case _ where name.hasPrefix("reply-for "):
            // `[[reply-for MODEL: TEXT]]`: only MODEL answers TEXT, so one prompt can tell models apart (evals).
            if name.dropFirst("reply-for ".count).trimmingCharacters(in: .whitespaces) == model { reply = value }
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
        case "verbatim":
            reply = value
            verbatim = true
        case "echo": echo = true
        case "piece-chars": pieceCharacters = Int(value).map { max(1, $0) }
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
    var pieceCharacters: Int?

    init(conversation: MockConversation, script: MockScript, protocolName: String, idPrefix: String) {
        var text = script.reply ?? "Mock reply from \(protocolName) model \(conversation.model)."
        var calls: [(String, String, String)] = []
        if script.echo {
            text = Self.withoutDirectives(conversation.lastUserText)
        }
        if script.verbatim || script.echo {
            // As scripted, whatever the request asks for.
        } else if !conversation.toolResults.isEmpty {
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
        self.pieceCharacters = script.pieceCharacters
    }

    /// `text` without its `[[directives]]`, trimmed.
    static func withoutDirectives(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "[["), let end = rest[start.upperBound...].range(of: "]]") {
            output += rest[..<start.lowerBound]
            rest = rest[end.upperBound...]
        }
        output += rest
        return output.trimmingCharacters(in: .whitespaces)
    }

    /// Stream pieces of the text: words with their leading spaces.
    var textPieces: [String] {
        guard !text.isEmpty else { return [] }
        if let size = pieceCharacters {
            let characters = Array(text)
            return stride(from: 0, to: characters.count, by: size).map { String(characters[$0..<min(characters.count, $0 + size)]) }
        }
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
        // One word still streams as two deltas, so clients always see a real stream.
        if pieces.count == 1, text.count > 1 {
            let middle = text.index(text.startIndex, offsetBy: text.count / 2)
            return [String(text[..<middle]), String(text[middle...])]
        }
        return pieces
    }

    static func split(_ arguments: String) -> [String] {
        guard arguments.count > 1 else { return [arguments] }
        let middle = arguments.index(arguments.startIndex, offsetBy: arguments.count / 2)
        return [String(arguments[..<middle]), String(arguments[middle...])]
    }
}

/// JSON values generated to satisfy a schema: object → its properties, string → "mock" (or the first
/// `enum` value), integer and number → 1, boolean → true, array → one item. Local `$ref`s
/// (`#/$defs/Name`, `#/definitions/Name`) are followed, as pydantic and zod schemas use them.
enum MockJSON {
    static var defaultObject: [String: Any] { ["answer": "mock", "ok": true] }

    static func value(for schema: Any?) -> Any {
        guard let schema = schema as? [String: Any] else { return defaultObject }
        return value(for: schema, root: schema, depth: 0)
    }

    static func value(for schema: [String: Any], root: [String: Any], depth: Int) -> Any {
        if depth > 16 { return NSNull() }
        if let reference = schema["$ref"] as? String, reference.hasPrefix("#/") {
            var target: Any? = root
            for component in reference.dropFirst(2).split(separator: "/") {
                target = (target as? [String: Any])?[String(component)]
            }
            return value(for: target as? [String: Any] ?? [:], root: root, depth: depth + 1)
        }
        if let values = schema["enum"] as? [Any], let first = values.first { return first }
        if let const = schema["const"] { return const }
        if let options = (schema["anyOf"] ?? schema["oneOf"]) as? [Any] {
            // Prefer a non-null option, as `Optional[X]` schemas list null too.
            let option = options.first { ($0 as? [String: Any])?["type"] as? String != "null" } ?? options.first
            return value(for: option as? [String: Any] ?? [:], root: root, depth: depth + 1)
        }
        if let all = schema["allOf"] as? [Any], let first = all.first as? [String: Any] {
            return value(for: first, root: root, depth: depth + 1)
        }
        var type = schema["type"]
        if let types = type as? [Any] { type = types.first { ($0 as? String) != "null" } }
        // Gemini's OpenAPI-style schemas spell types in capitals (`OBJECT`, `INTEGER`).
        switch (type as? String)?.lowercased() {
        case "string": return "mock"
        case "integer", "number": return 1
        case "boolean": return true
        case "null": return NSNull()
        case "array": return [value(for: schema["items"] as? [String: Any] ?? ["type": "string"], root: root, depth: depth + 1)]
        default:
            let properties = schema["properties"] as? [String: Any] ?? [:]
            if properties.isEmpty { return defaultObject }
            var object: [String: Any] = [:]
            for (name, property) in properties {
                object[name] = value(for: property as? [String: Any] ?? [:], root: root, depth: depth + 1)
            }
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
