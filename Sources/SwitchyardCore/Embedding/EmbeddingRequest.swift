import Foundation

/// `POST /v1/embeddings` request, OpenAI shape.
public struct EmbeddingRequest: Sendable, Hashable {
    public var model: String
    /// The texts to embed; empty when the caller sent token ids (`tokenInput`).
    public var input: [String]
    /// Token ids in place of text (`[15339, 1917]`, or `[[15339, 1917], [...]]` as LangChain's
    /// OpenAIEmbeddings sends by default). They are the upstream's own tokenizer's ids, so only an
    /// OpenAI-compatible upstream can take them; they pass to it verbatim.
    public var tokenInput: [[Int]]?
    /// True when the caller sent one string (or one token array) rather than a list.
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

    /// How many inputs (texts or token arrays) the request embeds.
    public var inputCount: Int { tokenInput?.count ?? input.count }

    /// Prompt tokens, counted for token ids and estimated for texts.
    public var estimatedTokens: Int {
        if let tokenInput { return tokenInput.reduce(0) { $0 + $1.count } }
        return input.reduce(0) { $0 + TokenEstimator.estimate($1) }
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
        guard container.contains(.input) else {
            throw DecodingError.keyNotFound(CodingKeys.input, .init(codingPath: [], debugDescription: "input"))
        }
        switch try EmbeddingInput.parse(try container.decode(JSONValue.self, forKey: .input)) {
        case .texts(let texts, let single):
            input = texts
            tokenInput = nil
            singleInput = single
        case .tokens(let tokens, let single):
            input = []
            tokenInput = tokens
            singleInput = single
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
        if let tokenInput {
            if singleInput, tokenInput.count == 1 { try container.encode(tokenInput[0], forKey: .input) } else {
                try container.encode(tokenInput, forKey: .input)
            }
        } else if singleInput, input.count == 1 {
            try container.encode(input[0], forKey: .input)
        } else {
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
