import Foundation

/// `POST /v1/embeddings` request, OpenAI shape.
public struct EmbeddingRequest: Sendable, Hashable {
    public var model: String
    public var input: [String]
    /// True when the caller sent one string rather than a list.
    public var singleInput: Bool
    public var encodingFormat: String?
    public var dimensions: Int?
    public var user: String?

    public init(
        model: String, input: [String], singleInput: Bool = false, encodingFormat: String? = nil,
        dimensions: Int? = nil, user: String? = nil
    ) {
        self.model = model
        self.input = input
        self.singleInput = singleInput
        self.encodingFormat = encodingFormat
        self.dimensions = dimensions
        self.user = user
    }
}

extension EmbeddingRequest: Codable {
    /// OpenAI's own limit on texts per request.
    public static let maximumInputs = 2048

    enum CodingKeys: String, CodingKey {
        case model, input, dimensions, user
        case encodingFormat = "encoding_format"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        if let single = try? container.decode(String.self, forKey: .input) {
            input = [single]
            singleInput = true
        } else if let many = try? container.decode([String].self, forKey: .input) {
            input = many
            singleInput = false
        } else if container.contains(.input) {
            throw DecodingError.typeMismatch(
                String.self,
                .init(
                    codingPath: [CodingKeys.input],
                    debugDescription: "input must be a string or an array of strings (token arrays are not supported)"))
        } else {
            throw DecodingError.keyNotFound(CodingKeys.input, .init(codingPath: [], debugDescription: "input"))
        }
        if input.count > Self.maximumInputs {
            throw SwitchyardError.invalidRequest(
                "input holds \(input.count) texts; at most \(Self.maximumInputs) may be embedded in one request.", param: "input")
        }
        encodingFormat = try container.decodeIfPresent(String.self, forKey: .encodingFormat)
        if let format = encodingFormat, format != "float", format != "base64" {
            throw SwitchyardError.invalidRequest(
                "encoding_format must be float or base64, not '\(format.quotedPrefix(40))'.", param: "encoding_format")
        }
        dimensions = try container.decodeInteger(.dimensions, field: "dimensions", in: 1...65536)
        user = try container.decodeIfPresent(String.self, forKey: .user)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        if singleInput, input.count == 1 { try container.encode(input[0], forKey: .input) } else {
            try container.encode(input, forKey: .input)
        }
        try container.encodeIfPresent(dimensions, forKey: .dimensions)
        try container.encodeIfPresent(user, forKey: .user)
    }
}

/// `POST /v1/embeddings` response, OpenAI shape. Vectors are kept as floats; the HTTP edge encodes base64 when asked.
public struct EmbeddingResponse: Sendable, Hashable {
    public var model: String
    public var vectors: [[Float]]
    public var usage: Usage

    public init(model: String, vectors: [[Float]], usage: Usage) {
        self.model = model
        self.vectors = vectors
        self.usage = usage
    }
}
