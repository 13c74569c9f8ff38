import Foundation

/// A function the model may call (`tools[]` in a chat request).
public struct ToolDefinition: Sendable, Hashable, Codable {
    public struct Function: Sendable, Hashable, Codable {
        public var name: String
        public var description: String?
        public var parameters: JSONValue?
        public var strict: Bool?

        public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
            self.name = name
            self.description = description
            self.parameters = parameters
            self.strict = strict
        }
    }

    public var type: String
    public var function: Function

    public init(function: Function) {
        self.type = "function"
        self.function = function
    }
}

/// A call the model made to a tool. `arguments` is JSON text, as OpenAI sends it.
public struct ToolCall: Sendable, Hashable, Codable {
    public struct Function: Sendable, Hashable, Codable {
        public var name: String
        public var arguments: String

        public init(name: String, arguments: String) {
            self.name = name
            self.arguments = arguments
        }
    }

    public var id: String
    public var type: String
    public var function: Function

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.type = "function"
        self.function = Function(name: name, arguments: arguments)
    }

    enum CodingKeys: String, CodingKey { case id, type, function }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decodeIfPresent(String.self, forKey: .type) ?? "function"
        function = try container.decode(Function.self, forKey: .function)
    }
}

/// How the model must use tools.
public enum ToolChoice: Sendable, Hashable {
    case none
    case auto
    case required
    case function(String)
}

extension ToolChoice: Codable {
    struct Named: Codable {
        struct Function: Codable { var name: String }
        var type: String
        var function: Function
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let mode = try? container.decode(String.self) {
            switch mode {
            case "none": self = .none
            case "auto": self = .auto
            case "required": self = .required
            default:
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected \"none\", \"auto\", \"required\" or {\"type\":\"function\",...}")
            }
        } else {
            self = .function(try container.decode(Named.self).function.name)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .none: try container.encode("none")
        case .auto: try container.encode("auto")
        case .required: try container.encode("required")
        case .function(let name): try container.encode(Named(type: "function", function: .init(name: name)))
        }
    }
}

/// One streamed fragment of a tool call. The first fragment of a call carries id and name.
public struct ToolCallDelta: Sendable, Hashable, Codable {
    public struct Function: Sendable, Hashable, Codable {
        public var name: String?
        public var arguments: String?

        public init(name: String? = nil, arguments: String? = nil) {
            self.name = name
            self.arguments = arguments
        }
    }

    public var index: Int
    public var id: String?
    public var type: String?
    public var function: Function?

    public init(index: Int, id: String? = nil, type: String? = nil, function: Function? = nil) {
        self.index = index
        self.id = id
        self.type = type
        self.function = function
    }

    /// Most tool calls one streamed message may hold; a larger or negative index is a broken stream.
    public static let maximumIndex = 1023

    enum CodingKeys: String, CodingKey { case index, id, type, function }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let value = try container.decodeIfPresent(JSONValue.self, forKey: .index) ?? .int(0)
        guard let index = value.intValue, (0...Self.maximumIndex).contains(index) else {
            throw DecodingError.dataCorruptedError(
                forKey: .index, in: container, debugDescription: "a tool call index must be a whole number from 0 to \(Self.maximumIndex)")
        }
        self.index = index
        id = try container.decodeIfPresent(String.self, forKey: .id)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        function = try container.decodeIfPresent(Function.self, forKey: .function)
    }
}

/// `response_format` of a chat request.
public struct ResponseFormat: Sendable, Hashable, Codable {
    public struct JSONSchema: Sendable, Hashable, Codable {
        public var name: String
        public var description: String?
        public var schema: JSONValue?
        public var strict: Bool?

        public init(name: String, description: String? = nil, schema: JSONValue? = nil, strict: Bool? = nil) {
            self.name = name
            self.description = description
            self.schema = schema
            self.strict = strict
        }
    }

    public enum Kind: String, Sendable, Hashable, Codable {
        case text
        case jsonObject = "json_object"
        case jsonSchema = "json_schema"
    }

    public var type: Kind
    public var jsonSchema: JSONSchema?

    public init(type: Kind, jsonSchema: JSONSchema? = nil) {
        self.type = type
        self.jsonSchema = jsonSchema
    }

    enum CodingKeys: String, CodingKey {
        case type
        case jsonSchema = "json_schema"
    }

    /// True when the caller wants JSON back.
    public var wantsJSON: Bool { type != .text }
}
