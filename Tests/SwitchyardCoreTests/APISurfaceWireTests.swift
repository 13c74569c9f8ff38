import Foundation
import Testing

@testable import SwitchyardCore

/// Wire types of issue 19's endpoints: token-id embeddings input and legacy text completions.
@Suite("Embeddings token input and legacy completions")
struct APISurfaceWireTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    /// The 400 a body gets: its message and the field it names.
    func refusal<T: Decodable>(_ type: T.Type, _ json: String) -> SwitchyardError? {
        do {
            _ = try decode(type, json)
            return nil
        } catch let error as SwitchyardError {
            return error
        } catch {
            return SwitchyardError.invalidRequest("\(error)", param: "<not a SwitchyardError>")
        }
    }

    // MARK: Embeddings input

    @Test func textsStillDecodeAsBefore() throws {
        let single = try decode(EmbeddingRequest.self, #"{"model":"e","input":"hello"}"#)
        #expect(single.input == ["hello"] && single.singleInput && single.tokenInput == nil)
        let many = try decode(EmbeddingRequest.self, #"{"model":"e","input":["a","b"]}"#)
        #expect(many.input == ["a", "b"] && !many.singleInput && many.inputCount == 2)
    }

    @Test func tokenIDsDecodeAndPassThroughVerbatim() throws {
        let one = try decode(EmbeddingRequest.self, #"{"model":"e","input":[15339, 1917]}"#)
        #expect(one.tokenInput == [[15339, 1917]] && one.singleInput && one.input.isEmpty)
        #expect(one.inputCount == 1 && one.estimatedTokens == 2)
        #expect(JSONValue.parse(try JSONEncoder().encode(one))?["input"] == [15339, 1917])

        let many = try decode(EmbeddingRequest.self, #"{"model":"e","input":[[15339, 1917], [0], [2147483647]]}"#)
        #expect(many.tokenInput == [[15339, 1917], [0], [2_147_483_647]] && !many.singleInput)
        #expect(many.inputCount == 3 && many.estimatedTokens == 4)
        #expect(JSONValue.parse(try JSONEncoder().encode(many))?["input"] == [[15339, 1917], [0], [2_147_483_647]])
    }

    @Test(arguments: [
        (#"[1, -1]"#, "input[1]"),
        (#"[1, 2147483648]"#, "input[1]"),
        (#"[1, 1.5]"#, "input[1]"),
        (#"[1, 1e300]"#, "input[1]"),
        (#"[1, "a"]"#, "input[1]"),
        (#"[[1, 2], [3, -4]]"#, "input[1][1]"),
        (#"[[1, 2], []]"#, "input[1]"),
        (#"[[1, 2], "text"]"#, "input[1]"),
        (#"["text", [1, 2]]"#, "input[1]"),
        (#"[[1, 2], [3, null]]"#, "input[1][1]"),
        (#"[null]"#, "input[0]"),
        (#"[{"text": "x"}]"#, "input[0]"),
        ("42", "input"),
        ("null", "input"),
        (#"{"a": 1}"#, "input"),
    ])
    func hostileTokenInputIsA400NamingTheElement(input: String, field: String) {
        let error = refusal(EmbeddingRequest.self, #"{"model":"e","input":\#(input)}"#)
        #expect(error?.status == 400)
        #expect(error?.param == field, "\(input): \(error?.message ?? "accepted")")
    }

    @Test func tokenInputIsBounded() {
        let wide = "[" + Array(repeating: "1", count: EmbeddingInput.maximumTokensPerInput + 1).joined(separator: ",") + "]"
        #expect(refusal(EmbeddingRequest.self, #"{"model":"e","input":\#(wide)}"#)?.param == "input")
        let many = "[" + Array(repeating: "[1]", count: EmbeddingRequest.maximumInputs + 1).joined(separator: ",") + "]"
        #expect(refusal(EmbeddingRequest.self, #"{"model":"e","input":\#(many)}"#)?.param == "input")
        let texts = "[" + Array(repeating: #""x""#, count: EmbeddingRequest.maximumInputs + 1).joined(separator: ",") + "]"
        #expect(refusal(EmbeddingRequest.self, #"{"model":"e","input":\#(texts)}"#)?.param == "input")
    }

    // MARK: Legacy completions

    @Test func completionTranslatesToOneUserMessage() throws {
        let request = try decode(
            TextCompletionRequest.self,
            #"{"model":"m","prompt":"Once upon","max_tokens":20,"temperature":0.5,"top_p":0.9,"stop":"\n","user":"u","seed":7,"presence_penalty":0.5}"#)
        let chat = request.chatRequest(prompt: 0)
        #expect(chat.model == "m" && chat.messages.count == 1 && chat.messages[0].role == .user && chat.messages[0].text == "Once upon")
        #expect(chat.maxTokens == 20 && chat.temperature == 0.5 && chat.topP == 0.9 && chat.stop == ["\n"])
        #expect(chat.user == "u" && chat.seed == 7 && chat.extra["presence_penalty"] == 0.5 && !chat.stream)
    }

    @Test func completionDefaultsAndPromptLists() throws {
        let request = try decode(TextCompletionRequest.self, #"{"model":"m","prompt":["a","b"],"n":1,"suffix":null,"logprobs":null}"#)
        #expect(request.prompts == ["a", "b"] && request.maxTokens == TextCompletionRequest.defaultMaxTokens)
        #expect(request.chatRequest(prompt: 1).messages[0].text == "b")
        let streamed = try decode(TextCompletionRequest.self, #"{"model":"m","prompt":"a","stream":true,"stream_options":{"include_usage":true},"echo":true}"#)
        #expect(streamed.stream && streamed.includeUsage && streamed.echo && streamed.chatRequest(prompt: 0).stream)
    }

    @Test(arguments: [
        (#""n": 2"#, "n"),
        (#""best_of": 3"#, "best_of"),
        (#""suffix": "end""#, "suffix"),
        (#""logprobs": 5"#, "logprobs"),
        (#""logit_bias": {"50256": -100}"#, "logit_bias"),
        (#""max_tokens": 1e300"#, "max_tokens"),
        (#""max_tokens": 0"#, "max_tokens"),
        (#""temperature": 3"#, "temperature"),
        (#""stop": ["a", "b", "c", "d", "e"]"#, "stop"),
        (#""stop": [1]"#, "stop[0]"),
        (#""presence_penalty": 9"#, "presence_penalty"),
    ])
    func completionRefusesWhatItCannotDo(field: String, param: String) {
        let error = refusal(TextCompletionRequest.self, #"{"model":"m","prompt":"x",\#(field)}"#)
        #expect(error?.status == 400)
        #expect(error?.param == param, "\(field): \(error?.message ?? "accepted")")
    }

    @Test(arguments: [
        (#""prompt": [15339, 1917]"#, "prompt[0]"),
        (#""prompt": []"#, "prompt"),
        (#""prompt": 5"#, "prompt"),
        (#""prompt": ["a", "b"], "stream": true"#, "prompt"),
        (#""max_tokens": 5"#, "prompt"),
    ])
    func completionPromptMustBeText(field: String, param: String) {
        let error = refusal(TextCompletionRequest.self, #"{"model":"m",\#(field)}"#)
        #expect(error?.param == param, "\(field): \(error?.message ?? "accepted")")
    }

    @Test func completionWireShape() {
        let object = TextCompletionWire.object(
            id: "cmpl-1", created: 5, model: "m",
            choices: [TextCompletionWire.choice(text: "hi", index: 0, finishReason: .length)],
            usage: Usage(promptTokens: 3, completionTokens: 2))
        #expect(object["object"] == "text_completion" && object["id"] == "cmpl-1")
        let choice = object["choices"]?.arrayValue?.first
        #expect(choice?["text"] == "hi" && choice?["finish_reason"] == "length" && choice?["logprobs"] == .null)
        #expect(object["usage"]?["total_tokens"] == 5)
        #expect(TextCompletionWire.finishReason(.toolCalls) == "stop" && TextCompletionWire.finishReason(nil) == .null)
    }
}
