import Foundation
import SwitchyardCore

/// Turns a prompt template and a test's vars into the messages sent.
public enum PromptRenderer {
    /// True for a list of `{role, content}` objects (a chat prompt).
    static func isChat(_ value: JSONValue) -> Bool {
        guard let list = value.arrayValue, !list.isEmpty else { return false }
        return list.allSatisfy { $0["role"]?.stringValue != nil }
    }

    /// The messages for `prompt` with `vars`: a chat template has each string inside it rendered (so a
    /// value holding quotes cannot break the JSON); a text template becomes one user message.
    /// `rendered` is what the results show as the prompt sent.
    public static func render(_ prompt: EvalPrompt, vars: [String: JSONValue]) -> (messages: [JSONValue], rendered: String) {
        let trimmed = prompt.raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("["), let template = JSONValue.parse(trimmed), isChat(template), let list = template.arrayValue {
            let messages = list.map { renderStrings($0, vars: vars, depth: 0) }
            return (messages, JSONValue.array(messages).jsonString())
        }
        let text = Template.render(prompt.raw, vars: vars)
        // A text template whose rendering is a chat list (promptfoo allows JSON prompts written as text) is sent as one.
        let renderedTrimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if renderedTrimmed.hasPrefix("["), let parsed = JSONValue.parse(renderedTrimmed), isChat(parsed), let list = parsed.arrayValue {
            return (list, renderedTrimmed)
        }
        return ([.object(["role": .string("user"), "content": .string(text)])], text)
    }

    private static func renderStrings(_ value: JSONValue, vars: [String: JSONValue], depth: Int) -> JSONValue {
        guard depth < 64 else { return value }
        switch value {
        case .string(let text): return .string(Template.render(text, vars: vars))
        case .array(let items): return .array(items.map { renderStrings($0, vars: vars, depth: depth + 1) })
        case .object(let object): return .object(object.mapValues { renderStrings($0, vars: vars, depth: depth + 1) })
        default: return value
        }
    }
}
