import Foundation
import MCP
import SwitchyardCore

/// Converts between the SDK's `Value` and Switchyard's `JSONValue` through their JSON forms.
enum ValueBridge {
    static func json<T: Encodable>(_ value: T) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(value), let json = JSONValue.parse(data) else { return .null }
        return json
    }

    static func value(_ json: JSONValue) -> Value {
        guard let data = try? JSONEncoder().encode(json), let value = try? JSONDecoder().decode(Value.self, from: data) else {
            return .null
        }
        return value
    }

    static func arguments(_ json: JSONValue?) throws -> [String: Value]? {
        guard let json else { return nil }
        if case .null = json { return nil }
        guard let object = json.objectValue else {
            throw ToolError(.invalidArguments, "Tool arguments must be a JSON object.")
        }
        return object.mapValues(value)
    }
}
