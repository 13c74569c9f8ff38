import Foundation
import Guardrails
import SwitchyardCore

/// The `guardrails:` section: named policies, and which one applies where.
///
/// A request's policy is, first that matches: its key's, its team's, the requested model's, group's
/// or route's, then `default`. One policy applies to a request; they do not stack.
public struct GuardrailsConfiguration: Sendable {
    /// Policies by name.
    public var policies: [String: GuardPolicy] = [:]
    /// The policy for requests nothing else attaches one to.
    public var defaultPolicy: String?
    /// Policy names by model, group or auto-route name (`guardrails:` on each).
    public var byTarget: [String: String] = [:]
    /// Policy names by config key id (`guardrails:` on an `auth.keys` entry).
    public var byKeyID: [String: String] = [:]
    /// Policy names by key name (`guardrails.keys`), for keys made through the keys API too.
    public var byKeyName: [String: String] = [:]
    /// Policy names by team (`guardrails.teams`).
    public var byTeam: [String: String] = [:]
    /// Scalars of streamed answer text held back so a value split across chunks is seen whole.
    public var streamWindow = 64

    public init() {}

    /// True when no policy can ever apply.
    public var isEmpty: Bool { policies.isEmpty }

    /// The policy for a request to `target` by a key (`keyID`, `keyName`) of `team`.
    public func policy(target: String, keyID: String?, keyName: String?, team: String?) -> GuardPolicy? {
        guard !policies.isEmpty else { return nil }
        let name = keyID.flatMap { byKeyID[$0] } ?? keyName.flatMap { byKeyName[$0] } ?? team.flatMap { byTeam[$0] }
            ?? byTarget[target] ?? defaultPolicy
        return name.flatMap { policies[$0] }
    }
}
