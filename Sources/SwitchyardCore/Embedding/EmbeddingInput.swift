/// The `input` of an embeddings request, read once at the edge: one text, a list of texts, one
/// token-id array or a list of them (OpenAI accepts all four). Everything else is a 400 naming the
/// element at fault (`input[2][7]`), never a trap: ids are checked whole numbers in range, and the
/// number of inputs and of ids per input are bounded.
enum EmbeddingInput: Equatable {
    case texts([String], single: Bool)
    case tokens([[Int]], single: Bool)

    static let maximumInputs = EmbeddingRequest.maximumInputs
    /// Token ids are non-negative and fit in 32 bits in every tokenizer in use (cl100k, o200k: < 2^18).
    static let tokenRange = 0...2_147_483_647
    /// Far above any embedding model's window (8192 for OpenAI's), low enough to bound the work.
    static let maximumTokensPerInput = 65_536

    static func parse(_ value: JSONValue) throws -> EmbeddingInput {
        switch value {
        case .string(let text):
            return .texts([text], single: true)
        case .array(let items):
            guard let first = items.first else { return .texts([], single: false) }
            if case .int = first { return .tokens([try tokenIDs(items, field: "input")], single: true) }
            if case .double = first { return .tokens([try tokenIDs(items, field: "input")], single: true) }
            guard items.count <= maximumInputs else {
                throw SwitchyardError.invalidRequest(
                    "input holds \(items.count) items; at most \(maximumInputs) may be embedded in one request.", param: "input")
            }
            switch first {
            case .string:
                return .texts(try items.enumerated().map { index, item in
                    guard case .string(let text) = item else { throw mixed(at: "input[\(index)]") }
                    return text
                }, single: false)
            case .array:
                return .tokens(try items.enumerated().map { index, item in
                    guard case .array(let ids) = item else { throw mixed(at: "input[\(index)]") }
                    return try tokenIDs(ids, field: "input[\(index)]")
                }, single: false)
            default:
                throw mixed(at: "input[0]")
            }
        default:
            throw mixed(at: "input")
        }
    }

    private static func tokenIDs(_ items: [JSONValue], field: String) throws -> [Int] {
        guard !items.isEmpty else {
            throw SwitchyardError.invalidRequest("\(field) is an empty token array; send at least one token id.", param: field)
        }
        guard items.count <= maximumTokensPerInput else {
            throw SwitchyardError.invalidRequest(
                "\(field) holds \(items.count) token ids; at most \(maximumTokensPerInput) are accepted per input.", param: field)
        }
        return try items.enumerated().map { index, item in
            guard let id = item.intValue, tokenRange.contains(id) else {
                throw SwitchyardError.invalidRequest(
                    "\(field)[\(index)] must be a token id: a whole number from 0 to \(tokenRange.upperBound).",
                    param: "\(field)[\(index)]")
            }
            return id
        }
    }

    private static func mixed(at field: String) -> SwitchyardError {
        SwitchyardError.invalidRequest(
            "\(field) has the wrong type: input must be a string, an array of strings, an array of token ids (integers) "
                + "or an array of token-id arrays, without mixing them.",
            param: field)
    }
}

extension SwitchyardError {
    /// Token ids are the ids of one tokenizer (OpenAI's); a model that takes only text cannot read
    /// them, and decoding them with a guessed vocabulary would embed the wrong text silently.
    public static func tokenInputNeedsText(_ model: String) -> SwitchyardError {
        .invalidRequest(
            "input holds token ids, which only OpenAI-compatible embedding models accept, and \(model) takes only text: "
                + "send input as a string or an array of strings (with LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False)).",
            param: "input")
    }
}
