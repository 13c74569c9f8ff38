import Foundation
import SwitchyardCore

/// Reads the parts of a suite, each error naming `file:line`, the field and the fix.
struct SuiteReader {
    let document: YAMLDocument
    let files: SuiteFiles

    func fail(_ path: String, _ message: String) -> EvalSuiteError {
        EvalSuiteError("\(document.location(path)): \(message)")
    }

    func string(_ value: JSONValue, _ path: String) throws -> String {
        guard let text = value.stringValue else { throw fail(path, "must be a string.") }
        return text
    }

    func integer(_ value: JSONValue, _ path: String, in range: ClosedRange<Int>) throws -> Int {
        guard let number = value.intValue, range.contains(number) else {
            throw fail(path, "must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return number
    }

    func number(_ value: JSONValue, _ path: String, in range: ClosedRange<Double>) throws -> Double {
        guard let number = value.finiteDoubleValue, range.contains(number) else {
            throw fail(path, "must be a number from \(NumberText.plain(range.lowerBound)) to \(NumberText.plain(range.upperBound)).")
        }
        return number
    }

    // MARK: prompts

    func prompts(_ value: JSONValue?) throws -> [EvalPrompt] {
        let entries: [JSONValue]
        switch value {
        case nil, .null?: return [EvalPrompt(raw: "{{prompt}}", label: "{{prompt}}")]  // promptfoo's default: the `prompt` var
        case .string?: entries = [value!]
        case .array(let list)?: entries = list
        case .object(let map)?:
            // promptfoo's older map form: {file://path: label}.
            entries = map.keys.sorted().map { .object(["raw": .string($0), "label": map[$0]!]) }
        default: throw fail("prompts", "must be a list of prompts (strings, `file://` paths or {raw, label}).")
        }
        var prompts: [EvalPrompt] = []
        for (index, entry) in entries.enumerated() {
            let path = "prompts[\(index)]"
            switch entry {
            case .string(let text): prompts += try promptsFrom(text, label: nil, path: path)
            case .object(let object):
                if object["role"] != nil {  // a bare chat message: the whole list is one conversation
                    return [try chatPrompt(.array(entries), label: nil, path: "prompts")]
                }
                let label = try object["label"].map { try string($0, "\(path).label") }
                guard let raw = object["raw"] ?? object["id"] else { throw fail(path, "needs `raw` (the template or a `file://` path).") }
                switch raw {
                case .string(let text): prompts += try promptsFrom(text, label: label, path: path)
                case .array: prompts.append(try chatPrompt(raw, label: label, path: "\(path).raw"))
                default: throw fail("\(path).raw", "must be a template string or a list of chat messages.")
                }
            case .array: prompts.append(try chatPrompt(entry, label: nil, path: path))
            default: throw fail(path, "must be a template string, a `file://` path, {raw, label} or a list of chat messages.")
            }
        }
        guard !prompts.isEmpty else { throw fail("prompts", "is empty; give at least one prompt.") }
        return prompts
    }

    private func chatPrompt(_ messages: JSONValue, label: String?, path: String) throws -> EvalPrompt {
        guard PromptRenderer.isChat(messages) else {
            throw fail(path, "a chat prompt is a list of {role, content} messages.")
        }
        let raw = messages.jsonString()
        return EvalPrompt(raw: raw, label: label ?? raw)
    }

    private func promptsFrom(_ text: String, label: String?, path: String) throws -> [EvalPrompt] {
        guard text.hasPrefix("file://") else { return [EvalPrompt(raw: text, label: label)] }
        let reference = String(text.dropFirst("file://".count))
        var prompts: [EvalPrompt] = []
        for url in try files.expand(reference, path: document.location(path)) {
            let content = try SuiteFiles.read(url, what: "the prompt file")
            let name = "file://" + url.path
            switch url.pathExtension.lowercased() {
            case "json":
                guard let json = JSONValue.parse(content) else { throw fail(path, "\(url.path) is not valid JSON.") }
                prompts.append(try chatPrompt(json, label: label ?? name, path: path))
            case "jsonl":
                for (number, line) in content.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    guard let json = JSONValue.parse(String(line)) else { throw fail(path, "\(url.path):\(number + 1) is not valid JSON.") }
                    prompts.append(try chatPrompt(json, label: "\(label ?? name):\(number + 1)", path: path))
                }
            case "yaml", "yml":
                let messages = try YAMLDocument(text: content, file: url.path).root
                prompts.append(try chatPrompt(messages, label: label ?? name, path: path))
            default:
                // A text file may hold several prompts separated by a line of `---`, as promptfoo's do.
                let parts = content.components(separatedBy: "\n---\n").map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
                for (number, part) in parts.enumerated() {
                    prompts.append(EvalPrompt(raw: part, label: parts.count == 1 ? (label ?? name) : "\(label ?? name):\(number + 1)"))
                }
            }
        }
        return prompts
    }

    // MARK: providers

    func providers(_ value: JSONValue, knownModels: Set<String>, ignored: inout [String]) throws -> [EvalProvider] {
        let entries: [JSONValue]
        switch value {
        case .string: entries = [value]
        case .array(let list): entries = list
        default: throw fail("providers", "must be a list of provider ids or {id, label, config}.")
        }
        var providers: [EvalProvider] = []
        for (index, entry) in entries.enumerated() {
            let path = "providers[\(index)]"
            var provider: EvalProvider
            switch entry {
            case .string(let id):
                provider = EvalProvider(id: id, model: ProviderID.model(for: id, known: knownModels))
            case .object(var object):
                if object["id"] == nil, object.count == 1, let (key, body) = object.first, let inner = body.objectValue {
                    object = inner  // promptfoo's map form: {openai:chat:gpt-4o: {config: …}}
                    object["id"] = .string(key)
                }
                guard let id = object["id"]?.stringValue, !id.isEmpty else { throw fail("\(path).id", "is required: the model to ask.") }
                if id.hasPrefix("file://") || id.hasPrefix("exec:") || id.hasPrefix("python:") || id.hasPrefix("http") {
                    throw fail("\(path).id", "'\(id)': script and HTTP providers are not supported; name a Switchyard model, group or route.")
                }
                let label = try object["label"].map { try string($0, "\(path).label") }
                provider = EvalProvider(id: id, label: label, model: ProviderID.model(for: id, known: knownModels))
                if let config = object["config"] {
                    guard let parameters = config.objectValue else { throw fail("\(path).config", "must be a mapping of request parameters.") }
                    provider.parameters = try requestParameters(parameters, path: "\(path).config", ignored: &ignored)
                }
            default: throw fail(path, "must be a provider id or {id, label, config}.")
            }
            guard !provider.model.isEmpty else { throw fail(path, "names no model.") }
            guard !providers.contains(where: { $0.id == provider.id && $0.label == provider.label }) else {
                throw fail(path, "'\(provider.id)' is listed twice; give the copies different `label`s.")
            }
            providers.append(provider)
        }
        guard !providers.isEmpty else { throw fail("providers", "is empty; name at least one model.") }
        return providers
    }

    /// The provider `config` keys that are request parameters; connection settings (keys, base URLs)
    /// belong to the gateway's config and are dropped here, never sent or logged.
    static let connectionKeys: Set<String> = ["apiKey", "apiKeyEnvar", "apiBaseUrl", "apiHost", "organization", "headers", "basePath", "region", "cost"]

    /// OpenAI chat parameters passed through as written (the gateway validates them like any client's).
    static let passedParameters: Set<String> = [
        "seed", "stop", "tool_choice", "response_format", "frequency_penalty", "presence_penalty", "logprobs", "top_logprobs",
        "parallel_tool_calls", "reasoning_effort", "user", "metadata", "logit_bias", "top_k",
    ]

    private func requestParameters(_ config: [String: JSONValue], path: String, ignored: inout [String]) throws -> [String: JSONValue] {
        var parameters: [String: JSONValue] = [:]
        for (key, value) in config where !Self.connectionKeys.contains(key) {
            switch key {
            case "temperature": parameters[key] = .double(try number(value, "\(path).temperature", in: 0...2))
            case "top_p": parameters[key] = .double(try number(value, "\(path).top_p", in: 0...1))
            case "max_tokens", "max_completion_tokens":
                parameters[key] = .int(Int64(try integer(value, "\(path).\(key)", in: 1...10_000_000)))
            case "tools":
                guard value.arrayValue != nil else { throw fail("\(path).tools", "must be a list of OpenAI tools ({type: function, function: {name, parameters}}).") }
                parameters[key] = value
            case _ where Self.passedParameters.contains(key): parameters[key] = value  // the gateway checks them
            default: ignored.append("\(path).\(key)")
            }
        }
        return parameters
    }
}
