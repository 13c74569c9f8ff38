import ArgumentParser
import Foundation
import Gateway
import SwitchyardCore

/// `switchyard models list` (the default of `switchyard models`): the models a configuration serves.
struct ModelsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the models of a configuration, with provider, prices and capabilities.")

    @Option(name: .shortAndLong, help: "Path of the YAML configuration (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    func run() async throws {
        guard let configuration = try ConfigurationFinder.load(config) else {
            throw CommandFailure(ConfigurationFinder.noConfiguration, .configuration)
        }
        let kinds = Dictionary(configuration.providers.map { ($0.name, $0.kind.rawValue) }, uniquingKeysWith: { a, _ in a })
        print("name                          type       provider (protocol)       upstream                      $/1M in   $/1M out  context   capabilities")
        var models = configuration.models
        if !models.contains(where: { $0.name == Gateway.localEmbeddingModel }) {
            models.append(
                ModelSpec(name: Gateway.localEmbeddingModel, kind: .embedding, provider: "local", price: .init(input: 0, output: 0), contextWindow: 256))
        }
        for model in models {
            let provider = "\(model.provider) (\(kinds[model.provider] ?? "native"))"
            print(
                [
                    model.name.padding(29), model.kind.rawValue.padding(10), provider.padding(25), model.upstream.padding(29),
                    String(format: "%.3f", model.price.input).padding(9), String(format: "%.3f", model.price.output).padding(9),
                    (model.contextWindow.map(String.init) ?? "-").padding(9),
                    model.capabilities.map(\.rawValue).sorted().joined(separator: ","),
                ].joined(separator: " "))
        }
    }
}
