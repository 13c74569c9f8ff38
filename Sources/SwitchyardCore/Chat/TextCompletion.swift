import Foundation

/// `POST /v1/completions`: OpenAI's legacy text completions, still sent by older SDK code,
/// LangChain's `OpenAI` LLM and many evaluation harnesses. Switchyard serves it by translating the
/// prompt into one user message of a chat request, so routing, caching, budgets and the request
/// log apply exactly as for chat; the answer comes back as `text_completion` choices.
public struct TextCompletionRequest: Sendable, Hashable {
    public var model: String
    /// One or more prompts; each becomes its own chat request and its own choice.
    public var prompts: [String]
    public var maxTokens: Int
    public var temperature: Double?
    public var topP: Double?
    public var stop: [String]?
    public var stream: Bool
    public var includeUsage: Bool
    /// `echo: true`: the prompt is put before the completion in each choice's text.
    public var echo: Bool
    public var seed: Int?
    public var user: String?
    /// `presence_penalty`, `frequency_penalty`: passed on to OpenAI-compatible upstreams as chat has them.
    public var extra: [String: JSONValue]
    public var switchyard: JSONValue?

    /// OpenAI's default for this endpoint (it is 16, not the model's maximum).
    public static let defaultMaxTokens = 16
    /// Prompts in one request: each is an upstream call of its own.
    public static let maximumPrompts = 64

    /// The chat request that serves prompt `index`.
    public func chatRequest(prompt index: Int) -> ChatRequest {
        ChatRequest(
            model: model, messages: [.user(prompts[index])], temperature: temperature, topP: topP, maxTokens: maxTokens,
            stop: stop, seed: seed, user: user, stream: stream, includeUsage: includeUsage, extra: extra,
            switchyard: switchyard)
    }
}

extension TextCompletionRequest: Decodable {
    enum CodingKeys: String, CodingKey {
        case model, prompt, temperature, stop, stream, echo, seed, user, n, suffix, logprobs, switchyard
        case maxTokens = "max_tokens"
        case topP = "top_p"
        case streamOptions = "stream_options"
        case bestOf = "best_of"
        case logitBias = "logit_bias"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        prompts = try Self.prompts(container)
        maxTokens = try container.decodeInteger(.maxTokens, field: "max_tokens", in: ChatRequest.outputTokenRange) ?? Self.defaultMaxTokens
        temperature = try container.decodeNumber(.temperature, field: "temperature", in: 0...2)
        topP = try container.decodeNumber(.topP, field: "top_p", in: 0...1)
        switch try container.decodeIfPresent(JSONValue.self, forKey: .stop) {
        case .string(let single)?: stop = [single]
        case .array(let items)?:
            guard items.count <= 4 else { throw SwitchyardError.invalidRequest("stop takes at most 4 sequences.", param: "stop") }
            stop = try items.enumerated().map { index, item in
                guard let text = item.stringValue else {
                    throw SwitchyardError.invalidRequest("stop[\(index)] must be a string.", param: "stop[\(index)]")
                }
                return text
            }
        case .null?, nil: stop = nil
        default: throw SwitchyardError.invalidRequest("stop must be a string or an array of strings.", param: "stop")
        }
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        includeUsage = try container.decodeIfPresent(JSONValue.self, forKey: .streamOptions)?["include_usage"]?.boolValue ?? false
        echo = try container.decodeIfPresent(Bool.self, forKey: .echo) ?? false
        seed = try container.decodeInteger(.seed, field: "seed", in: Int.min...Int.max)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        switchyard = try container.decodeIfPresent(JSONValue.self, forKey: .switchyard)

        // What a chat request cannot carry is refused by name rather than silently dropped.
        if let n = try container.decodeInteger(.n, field: "n", in: 1...128), n != 1 {
            throw SwitchyardError.invalidRequest("n must be 1 here: Switchyard serves one completion per prompt.", param: "n")
        }
        if let bestOf = try container.decodeInteger(.bestOf, field: "best_of", in: 1...20), bestOf != 1 {
            throw SwitchyardError.invalidRequest("best_of must be 1 here: Switchyard serves one completion per prompt.", param: "best_of")
        }
        if let suffix = try container.decodeIfPresent(JSONValue.self, forKey: .suffix), suffix != .null, suffix != "" {
            throw SwitchyardError.invalidRequest(
                "suffix (insertion) is not supported: chat models behind this endpoint only continue a prompt.", param: "suffix")
        }
        if let logprobs = try container.decodeIfPresent(JSONValue.self, forKey: .logprobs), logprobs != .null {
            throw SwitchyardError.invalidRequest("logprobs is not supported on /v1/completions by this gateway.", param: "logprobs")
        }
        if let bias = try container.decodeIfPresent(JSONValue.self, forKey: .logitBias), bias != .null, bias != [:] {
            throw SwitchyardError.invalidRequest("logit_bias is not supported on /v1/completions by this gateway.", param: "logit_bias")
        }
        var extra: [String: JSONValue] = [:]
        for (key, field) in [(CodingKeys.presencePenalty, "presence_penalty"), (.frequencyPenalty, "frequency_penalty")] {
            if let value = try container.decodeNumber(key, field: field, in: -2...2) { extra[field] = .double(value) }
        }
        self.extra = extra
        if stream, prompts.count > 1 {
            throw SwitchyardError.invalidRequest("A streamed completion takes one prompt; send the others separately.", param: "prompt")
        }
    }

    private static func prompts(_ container: KeyedDecodingContainer<CodingKeys>) throws -> [String] {
        guard container.contains(.prompt) else {
            throw SwitchyardError.invalidRequest("Missing required field 'prompt'.", param: "prompt")
        }
        switch try container.decode(JSONValue.self, forKey: .prompt) {
        case .string(let text):
            return [text]
        case .array(let items) where !items.isEmpty:
            guard items.count <= maximumPrompts else {
                throw SwitchyardError.invalidRequest(
                    "prompt holds \(items.count) prompts; at most \(maximumPrompts) are accepted in one request.", param: "prompt")
            }
            return try items.enumerated().map { index, item in
                guard let text = item.stringValue else {
                    // Token-id prompts are one tokenizer's ids; the chat models behind this endpoint take text.
                    throw SwitchyardError.invalidRequest(
                        "prompt[\(index)] must be a string: prompts of token ids are not supported, send text.",
                        param: "prompt[\(index)]")
                }
                return text
            }
        default:
            throw SwitchyardError.invalidRequest("prompt must be a string or a non-empty array of strings.", param: "prompt")
        }
    }
}

/// The legacy completion answer and stream chunks, built from chat ones.
public enum TextCompletionWire {
    /// `finish_reason` as the completions endpoint has it: `stop`, `length` or `content_filter`.
    public static func finishReason(_ reason: FinishReason?) -> JSONValue {
        switch reason {
        case .length?: return "length"
        case .contentFilter?: return "content_filter"
        case nil: return .null
        default: return "stop"
        }
    }

    public static func choice(text: String, index: Int, finishReason: FinishReason?) -> JSONValue {
        ["text": .string(text), "index": .int(Int64(index)), "logprobs": .null, "finish_reason": Self.finishReason(finishReason)]
    }

    public static func usage(_ usage: Usage) -> JSONValue {
        [
            "prompt_tokens": .int(Int64(usage.promptTokens)), "completion_tokens": .int(Int64(usage.completionTokens)),
            "total_tokens": .int(Int64(usage.totalTokens)),
        ]
    }

    /// `{"id": "cmpl-…", "object": "text_completion", …}`; `switchyard` is added when given.
    public static func object(
        id: String, created: Int, model: String, choices: [JSONValue], usage: Usage?, switchyard: JSONValue? = nil
    ) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "text_completion", "created": .int(Int64(created)), "model": .string(model),
            "choices": .array(choices),
        ]
        if let usage { object["usage"] = Self.usage(usage) }
        if let switchyard { object["switchyard"] = switchyard }
        return .object(object)
    }
}
