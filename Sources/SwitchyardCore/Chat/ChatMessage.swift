import Foundation

/// One message of a chat conversation, in the OpenAI Chat Completions shape (Switchyard's canonical form).
public struct ChatMessage: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
        case system, developer, user, assistant, tool, function
    }

    public var role: Role
    public var content: MessageContent?
    public var name: String?
    public var toolCalls: [ToolCall]?
    public var toolCallID: String?
    public var refusal: String?

    public init(
        role: Role, content: MessageContent? = nil, name: String? = nil, toolCalls: [ToolCall]? = nil,
        toolCallID: String? = nil, refusal: String? = nil
    ) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.refusal = refusal
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: .text(text)) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: .text(text)) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: .text(text)) }

    /// All text of the message, parts joined with newlines.
    public var text: String { content?.text ?? "" }
}

extension ChatMessage: Codable {
    enum CodingKeys: String, CodingKey {
        case role, content, name, refusal
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(Role.self, forKey: .role)
        content = try container.decodeIfPresent(MessageContent.self, forKey: .content)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        toolCalls = try container.decodeIfPresent([ToolCall].self, forKey: .toolCalls)
        toolCallID = try container.decodeIfPresent(String.self, forKey: .toolCallID)
        refusal = try container.decodeIfPresent(String.self, forKey: .refusal)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        // OpenAI sends `"content": null` on assistant messages that only call tools.
        if let content { try container.encode(content, forKey: .content) } else { try container.encodeNil(forKey: .content) }
        try container.encodeIfPresent(name, forKey: .name)
        if let toolCalls, !toolCalls.isEmpty { try container.encode(toolCalls, forKey: .toolCalls) }
        try container.encodeIfPresent(toolCallID, forKey: .toolCallID)
        try container.encodeIfPresent(refusal, forKey: .refusal)
    }
}

/// Message content: a plain string or a list of typed parts.
public enum MessageContent: Sendable, Hashable {
    case text(String)
    case parts([ContentPart])

    public var text: String {
        switch self {
        case .text(let text): return text
        case .parts(let parts):
            return parts.compactMap { if case .text(let text) = $0 { return text } else { return nil } }
                .joined(separator: "\n")
        }
    }

    public var parts: [ContentPart] {
        switch self {
        case .text(let text): return [.text(text)]
        case .parts(let parts): return parts
        }
    }
}

extension MessageContent: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .parts(try container.decode([ContentPart].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .parts(let parts): try container.encode(parts)
        }
    }
}

/// A part of multi-part content. Parts Switchyard does not translate (audio, files) pass through as JSON.
public enum ContentPart: Sendable, Hashable {
    case text(String)
    case imageURL(url: String, detail: String?)
    case other(JSONValue)
}

extension ContentPart: Codable {
    enum CodingKeys: String, CodingKey {
        case type, text
        case imageURL = "image_url"
    }

    struct ImageURL: Codable {
        var url: String
        var detail: String?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "text":
            self = .text(try container.decode(String.self, forKey: .text))
        case "image_url":
            let image = try container.decode(ImageURL.self, forKey: .imageURL)
            self = .imageURL(url: image.url, detail: image.detail)
        default:
            self = .other(try JSONValue(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let text):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("text", forKey: .type)
            try container.encode(text, forKey: .text)
        case .imageURL(let url, let detail):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("image_url", forKey: .type)
            try container.encode(ImageURL(url: url, detail: detail), forKey: .imageURL)
        case .other(let value):
            try value.encode(to: encoder)
        }
    }
}

/// An image given as a `data:` URL, split into media type and base64 payload.
public struct DataURL: Sendable, Hashable {
    public var mediaType: String
    public var base64: String

    public init(mediaType: String, base64: String) {
        self.mediaType = mediaType
        self.base64 = base64
    }

    /// Parses `data:image/png;base64,AAAA`; `nil` for any other URL.
    public init?(_ url: String) {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64") else { return nil }
        self.mediaType = String(header.dropLast(7))
        self.base64 = String(url[url.index(after: comma)...])
    }

    public var url: String { "data:\(mediaType);base64,\(base64)" }
}
