import ArgumentParser
import Foundation
import LearnedRouting
import SwitchyardCore

/// `switchyard route score`: one `{"id": ..., "score": ...}` line per prompt, so anyone can recompute
/// the figures with their own tools.
struct RouteScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score", abstract: "Print the router's score for every prompt of a file, as JSON Lines.")

    @Option(help: "Router file.")
    var router: String

    @Option(help: "Prompts (JSON Lines with prompt or messages; outcomes not needed).")
    var data: String

    @OptionGroup var embedding: EmbeddingOptions

    func run() async throws {
        let router = try RouteOutput.loadRouter(router)
        let prompts = try Self.prompts(data)
        let matrix = try await embedding.embed(prompts.map(\.prompt), maxWords: router.header.maxWords, cut: router.header.cut)
        for (index, prompt) in prompts.enumerated() {
            let line: JSONValue = ["id": .string(prompt.id), "score": .double(router.score(matrix.row(index)))]
            print(line.jsonString())
        }
    }

    /// Reads prompts; outcomes are optional here (a file of bare prompts gets a placeholder outcome).
    static func prompts(_ path: String) throws -> [RoutingExample] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("Cannot read \(path).", .notFound) }
        var text = String(decoding: data, as: UTF8.self)
        // Lines without outcomes are still valid prompts to score.
        text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard var object = JSONValue.parse(String(line))?.objectValue else { return String(line) }
            if object["outcomes"] == nil, object["weak_correct"] == nil, object["strong_correct"] == nil { object["outcomes"] = ["-": 0] }
            return JSONValue.object(object).jsonString()
        }.joined(separator: "\n")
        do {
            return try RoutingDataset.parse(text, file: path).examples
        } catch let error as RoutingDataError {
            throw CommandFailure(error.description, .dataError)
        }
    }
}
