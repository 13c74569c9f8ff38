import Foundation
import Testing

@testable import Gateway
import SwitchyardCore

@Suite("Experiments and request-log configuration")
struct ExperimentConfigurationTests {
    static let base = """
        providers:
          - {name: openai, kind: openai, base_url: "https://api.openai.com/v1"}
        models:
          - {name: small, provider: openai, price: {input: 0.15, output: 0.60}}
          - {name: large, provider: openai, price: {input: 2.5, output: 10}}
          - {name: emb, type: embedding, provider: openai, price: {input: 0.02}}
        groups:
          - {name: fast, deployments: [small]}
        routes:
          - {name: auto, tiers: [{groups: [small]}, {groups: [large]}]}

        """

    @Test func readsExperimentsAndPromptStorage() throws {
        let configuration = try ConfigurationLoader.parse(Self.base + """
            request_log: {store_prompts: true}
            experiments:
              - name: reply
                variants:
                  - {name: control, target: small, weight: 3}
                  - {name: group, target: fast}
                  - {name: routed, target: auto, weight: 0.5}
            """, source: "test.yaml")
        #expect(configuration.requestLog.storePrompts)
        let experiment = try #require(configuration.experiments.first)
        #expect(experiment.name == "reply")
        #expect(experiment.variants.map(\.name) == ["control", "group", "routed"])
        #expect(experiment.variants.map(\.target) == ["small", "fast", "auto"])
        #expect(experiment.variants.map(\.weight) == [3, 1, 0.5])
        #expect(try ConfigurationLoader.parse(Self.base, source: "test.yaml").requestLog.storePrompts == false)
    }

    @Test(arguments: [
        ("[{name: x, variants: [{name: a, target: small, weight: -1}, {name: b, target: large}]}]", ["experiments[0].variants[0].weight", "from 0"]),
        ("[{name: x, variants: [{name: a, target: small, weight: .inf}, {name: b, target: large}]}]", ["experiments[0].variants[0].weight"]),
        ("[{name: x, variants: [{name: a, target: small, weight: 1e400}, {name: b, target: large}]}]", ["weight"]),
        ("[{name: x, variants: [{name: a, target: small, weight: 0}, {name: b, target: large, weight: 0}]}]", ["experiments[0].variants", "sum to 0"]),
        ("[{name: x, variants: [{name: a, target: nowhere}, {name: b, target: large}]}]", ["experiments[0].variants[0].target", "'nowhere'"]),
        ("[{name: x, variants: [{name: a, target: emb}, {name: b, target: large}]}]", ["embedding model"]),
        ("[{name: x, variants: [{name: a, target: small}]}]", ["experiments[0]", "at least two variants"]),
        ("[{name: x, variants: [{name: a, target: small}, {name: a, target: large}]}]", ["experiments[0].variants[1].name", "twice"]),
        ("[{name: small, variants: [{name: a, target: small}, {name: b, target: large}]}]", ["experiments[0].name", "already used"]),
        ("[{name: \"x/y\", variants: [{name: a, target: small}, {name: b, target: large}]}]", ["experiments[0].name", "not a usable name"]),
        ("[{name: x, variants: [{name: \"a b\", target: small}, {name: b, target: large}]}]", ["experiments[0].variants[0].name"]),
        ("[{name: x, variants: [{name: a, target: small, share: 2}, {name: b, target: large}]}]", ["unknown field `share`"]),
        ("[{name: x, variants: [{name: a, target: x}, {name: b, target: large}]}]", ["'x'", "not a chat model, group or route"]),
    ])
    func badExperimentsAreErrorsNamingTheField(section: String, fragments: [String]) {
        do {
            _ = try ConfigurationLoader.parse(Self.base + "experiments: " + section, source: "test.yaml")
            Issue.record("expected an error for \(section)")
        } catch let error as SwitchyardError {
            #expect(error.message.hasPrefix("test.yaml:"), "\(error.message)")
            for fragment in fragments { #expect(error.message.contains(fragment), "\(error.message) should contain \(fragment)") }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func requestLogSettingsAreChecked() throws {
        for bad in ["request_log: {store_prompts: maybe}", "request_log: {keep: true}", "request_log: {retention_days: 0}"] {
            #expect(throws: SwitchyardError.self) { try ConfigurationLoader.parse(Self.base + bad, source: "test.yaml") }
        }
        #expect(try ConfigurationLoader.parse(Self.base, source: "test.yaml").requestLog.retentionDays == nil)
        let kept = try? ConfigurationLoader.parse(Self.base + "request_log: {retention_days: 90}", source: "test.yaml")
        #expect(kept?.requestLog.retentionDays == 90)
    }
}
