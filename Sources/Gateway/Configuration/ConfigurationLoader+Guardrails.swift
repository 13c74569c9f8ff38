import Foundation
import Guardrails
import SwitchyardCore
import Yams

extension ConfigurationLoader {
    /// `guardrails:` (policies, default, keys, teams) and `guardrails: NAME` on models, groups, routes
    /// and `auth.keys` entries. Every name must be a policy of the section.
    static func parseGuardrails(_ reader: ConfigNode, into configuration: inout SwitchyardConfiguration) throws {
        var guardrails = GuardrailsConfiguration()
        var names: [String: ConfigNode] = [:]
        if let section = reader["guardrails"] {
            try section.allowOnly(["policies", "default", "keys", "teams", "stream_window"])
            for node in try section["policies"]?.list() ?? [] {
                let policy = try parsePolicy(node)
                guard guardrails.policies[policy.name] == nil else {
                    throw try node.required("name").error("the policy name '\(policy.name)' is used twice; names must be unique")
                }
                guardrails.policies[policy.name] = policy
            }
            func attach(_ field: String) throws -> [String: String] {
                guard let node = section[field] else { return [:] }
                let map = try node.stringMap()
                for key in map.keys { names["\(node.path).\(key)"] = node[key] ?? node }
                return map
            }
            guardrails.byKeyName = try attach("keys")
            guardrails.byTeam = try attach("teams")
            if let node = section["default"] {
                guardrails.defaultPolicy = try node.string()
                names[node.path] = node
            }
            if let window = try section["stream_window"]?.int(in: 8...4096) { guardrails.streamWindow = window }
        }
        for section in ["models", "groups", "routes"] {
            for node in try reader[section]?.list() ?? [] {
                guard let block = node["guardrails"] else { continue }
                guardrails.byTarget[try node.required("name").string()] = try block.string()
                names[block.path] = block
            }
        }
        // Keys: their index in the config's list and in `configuration.keys` differ when some entries
        // were empty; match by secret.
        for entry in try reader["auth"]?["keys"]?.list() ?? [] {
            guard let block = entry["guardrails"], let secret = try entry["key"]?.string(),
                let key = configuration.keys.first(where: { $0.key == secret })
            else { continue }
            guardrails.byKeyID[key.id] = try block.string()
            names[block.path] = block
        }
        for (_, node) in names.sorted(by: { $0.key < $1.key }) {
            let name = try node.string()
            guard guardrails.policies[name] != nil else {
                let known = guardrails.policies.keys.sorted().joined(separator: ", ")
                throw node.error("no guardrail policy named '\(name)' (policies: \(known.isEmpty ? "none; define them under guardrails.policies" : known))")
            }
        }
        configuration.guardrails = guardrails
    }

    static func parsePolicy(_ node: ConfigNode) throws -> GuardPolicy {
        try node.allowOnly(["name", "input", "output", "mode", "on_error", "channels"])
        var policy = GuardPolicy(name: try node.required("name").string())
        if let mode = node["mode"] { policy.mode = try choice(mode, GuardPolicy.Mode.allCases) }
        if let onError = node["on_error"] { policy.onError = try choice(onError, GuardPolicy.ErrorHandling.allCases) }
        if let channels = node["channels"] {
            let items = try channels.list()
            guard !items.isEmpty else { throw channels.error("must list at least one of user, tool_output, memory") }
            policy.channels = Set(try items.map { try choice($0, GuardChannel.allCases) })
            policy.channelsExplicit = true
        }
        if let input = node["input"] {
            try input.allowOnly(["injection", "pii", "pii_types", "injection_threshold"])
            if let action = input["injection"] { policy.input.injection = try choice(action, GuardAction.injection) }
            if let action = input["pii"] { policy.input.pii = try choice(action, GuardAction.inputPII) }
            if let types = input["pii_types"] { policy.input.piiTypes = try piiTypes(types) }
            policy.input.injectionThreshold = try input["injection_threshold"]?.double(in: 0...1)
        }
        if let output = node["output"] {
            try output.allowOnly(["pii", "pii_types", "schema"])
            if let action = output["pii"] { policy.output.pii = try choice(action, GuardAction.outputPII) }
            if let types = output["pii_types"] { policy.output.piiTypes = try piiTypes(types) }
            if let schema = output["schema"] {
                if case .scalar = schema.node {
                    guard let enabled = schema.node.bool else { throw schema.error("must be true, false, or {reasks: N}") }
                    policy.output.schemaReasks = enabled ? 0 : nil
                } else {
                    try schema.allowOnly(["reasks"])
                    policy.output.schemaReasks = try schema["reasks"]?.int(in: 0...GuardPolicy.maximumReasks) ?? 0
                }
            }
        }
        return policy
    }

    /// One of `options`, by raw value; the error lists them.
    private static func choice<Value: RawRepresentable>(_ node: ConfigNode, _ options: [Value]) throws -> Value
    where Value.RawValue == String {
        let allowed = options.map(\.rawValue).joined(separator: ", ")
        guard case .scalar = node.node else { throw node.error("must be one of: \(allowed)") }
        let text = try node.string()
        guard let value = options.first(where: { $0.rawValue == text }) else {
            throw node.error("'\(text.prefix(100))' is not allowed here; use one of: \(allowed)")
        }
        return value
    }

    private static func piiTypes(_ node: ConfigNode) throws -> Set<PIIType> {
        Set(try node.list().map { try choice($0, PIIType.allCases) })
    }
}
