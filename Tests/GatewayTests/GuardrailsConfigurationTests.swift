import Foundation
import Guardrails
import SwitchyardCore
import Testing

@testable import Gateway

@Suite("Guardrails configuration")
struct GuardrailsConfigurationTests {
    static let base = """
        providers:
          - {name: openai, kind: openai, base_url: "https://api.openai.com/v1", api_key: sk-x}
        models:
          - {name: support-bot, provider: openai, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6}, guardrails: strict}
          - {name: plain, provider: openai, price: {input: 1, output: 1}}
          - {name: on-prem, provider: openai, price: {input: 0, output: 0}, tags: [local]}
        """

    func parse(_ yaml: String) throws -> SwitchyardConfiguration {
        try ConfigurationLoader.parse(yaml, source: "test.yaml")
    }

    func expectError(_ yaml: String, containing fragments: [String]) {
        do {
            _ = try parse(yaml)
            Issue.record("expected a configuration error")
        } catch let error as SwitchyardError {
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) should contain \(fragment)")
            }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func readsTheContractShapeAndAttachesEverywhere() throws {
        let configuration = try parse(
            Self.base + """

                groups:
                  - {name: pool, deployments: [{model: plain}], guardrails: private}
                routes:
                  - name: auto
                    guardrails: strict
                    classifier: {rules: [], default: {task: chat, difficulty: 1}}
                    tiers: [{name: small, groups: [plain]}]
                auth:
                  keys:
                    - {key: sk-a, name: alpha, guardrails: private}
                    - {key: sk-b, name: beta}
                guardrails:
                  default: private
                  keys: {beta: strict}
                  teams: {support: strict}
                  policies:
                    - {name: strict, input: {injection: block, pii: redact}, output: {pii: redact}}
                    - name: private
                      mode: shadow
                      on_error: allow
                      channels: [user, tool_output]
                      input: {pii: mask, pii_types: [PERSON, EMAIL_ADDRESS], injection: flag, injection_threshold: 0.8}
                      output: {pii: flag, schema: {reasks: 2}}
                """)
        let guardrails = configuration.guardrails
        let strict = try #require(guardrails.policies["strict"])
        #expect(strict.input.injection == .block && strict.input.pii == .redact && strict.output.pii == .redact)
        #expect(strict.mode == .enforce && strict.onError == .block)
        let privatePolicy = try #require(guardrails.policies["private"])
        #expect(privatePolicy.mode == .shadow && privatePolicy.onError == .allow)
        #expect(privatePolicy.channels == [.user, .toolOutput])
        #expect(privatePolicy.input.piiTypes == [.person, .emailAddress])
        #expect(privatePolicy.input.injectionThreshold == 0.8)
        #expect(privatePolicy.output.schemaReasks == 2)

        let alpha = try #require(configuration.keys.first { $0.name == "alpha" })
        #expect(guardrails.policy(target: "support-bot", keyID: alpha.id, keyName: "alpha", team: nil)?.name == "private")
        #expect(guardrails.policy(target: "plain", keyID: "other", keyName: "beta", team: nil)?.name == "strict")
        #expect(guardrails.policy(target: "plain", keyID: nil, keyName: nil, team: "support")?.name == "strict")
        #expect(guardrails.policy(target: "support-bot", keyID: nil, keyName: nil, team: nil)?.name == "strict")
        #expect(guardrails.policy(target: "pool", keyID: nil, keyName: nil, team: nil)?.name == "private")
        #expect(guardrails.policy(target: "auto", keyID: nil, keyName: nil, team: nil)?.name == "strict")
        #expect(guardrails.policy(target: "plain", keyID: nil, keyName: nil, team: nil)?.name == "private")
    }

    @Test func withoutASectionNothingApplies() throws {
        let configuration = try parse(Self.base.replacingOccurrences(of: ", guardrails: strict", with: ""))
        #expect(configuration.guardrails.isEmpty)
        #expect(configuration.guardrails.policy(target: "support-bot", keyID: nil, keyName: nil, team: nil) == nil)
    }

    @Test(arguments: [
        // An unknown policy name, wherever it is attached.
        ("guardrails: {policies: [{name: other}]}\n", "models[0].guardrails: no guardrail policy named 'strict' (policies: other)"),
        ("guardrails: {default: nope, policies: [{name: strict}]}\n", "guardrails.default: no guardrail policy named 'nope'"),
        ("guardrails: {teams: {t: nope}, policies: [{name: strict}]}\n", "guardrails.teams.t: no guardrail policy named 'nope'"),
        // Bad actions, modes and types name the field and the choices.
        ("guardrails: {policies: [{name: strict, input: {pii: shred}}]}\n", "policies[0].input.pii: 'shred' is not allowed here; use one of: allow, flag, redact, mask, block, route-local"),
        ("guardrails: {policies: [{name: strict, input: {injection: mask}}]}\n", "input.injection: 'mask' is not allowed here; use one of: allow, flag, block"),
        ("guardrails: {policies: [{name: strict, output: {pii: mask}}]}\n", "output.pii: 'mask' is not allowed here"),
        ("guardrails: {policies: [{name: strict, input: {pii: [redact]}}]}\n", "input.pii: must be one of"),
        ("guardrails: {policies: [{name: strict, input: {pii: {a: 1}}}]}\n", "input.pii: must be one of"),
        ("guardrails: {policies: [{name: strict, mode: loud}]}\n", "mode: 'loud' is not allowed here; use one of: enforce, shadow"),
        ("guardrails: {policies: [{name: strict, input: {pii_types: [EMAIL]}}]}\n", "pii_types[0]: 'EMAIL' is not allowed"),
        ("guardrails: {policies: [{name: strict, channels: []}]}\n", "channels: must list at least one"),
        ("guardrails: {policies: [{name: strict, input: {pii: redact, extra: 1}}]}\n", "unknown field `extra`"),
        // Hostile numbers: errors, never traps.
        ("guardrails: {policies: [{name: strict, output: {schema: {reasks: 99999999999999999999999}}}]}\n", "reasks: must be a whole number from 0 to 10"),
        ("guardrails: {policies: [{name: strict, output: {schema: {reasks: -1}}}]}\n", "reasks: must be a whole number from 0 to 10"),
        ("guardrails: {policies: [{name: strict, output: {schema: {reasks: .nan}}}]}\n", "reasks: must be a whole number"),
        ("guardrails: {policies: [{name: strict, input: {injection_threshold: 1e400}}]}\n", "injection_threshold: must be a number from 0 to 1"),
        ("guardrails: {policies: [{name: strict}, {name: strict}]}\n", "the policy name 'strict' is used twice"),
        ("guardrails: {policies: [{input: {pii: redact}}]}\n", "missing required field `name`"),
        ("guardrails: {stream_window: 1000000000, policies: [{name: strict}]}\n", "stream_window: must be a whole number from 8 to 4096"),
    ])
    func errorsNameTheField(section: String, fragment: String) {
        expectError(Self.base + "\n" + section, containing: ["test.yaml", fragment])
    }

    @Test func aKeyNamingAnUnknownPolicyIsAnError() {
        expectError(
            Self.base + "\nauth: {keys: [{key: sk-a, guardrails: nope}]}\nguardrails: {policies: [{name: strict}]}\n",
            containing: ["auth.keys[0].guardrails: no guardrail policy named 'nope'"])
    }
}
