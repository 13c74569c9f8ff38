import ArgumentParser
import Foundation
import Gateway
import Logging
import NIOHTTP1
import Retrieval
import SwitchyardCore

/// Opens the gateway's collections on the database, for the CLI commands that work on it directly.
enum CollectionsRuntime {
    /// The configuration (`--config`, `./switchyard.yaml`, or the running gateway's) with `--db` applied.
    static func open(config: String?, db: String?) throws -> GatewayRuntime {
        guard var configuration = try ConfigurationFinder.load(config) else {
            guard let db else { throw CommandFailure(ConfigurationFinder.noConfiguration, .configuration) }
            var bare = SwitchyardConfiguration()
            bare.storage.sqlitePath = db
            return try runtime(bare)
        }
        if let db { configuration.storage.sqlitePath = db }
        return try runtime(configuration)
    }

    private static func runtime(_ configuration: SwitchyardConfiguration) throws -> GatewayRuntime {
        var logger = Logger(label: "switchyard")
        logger.logLevel = .warning
        return try GatewayRuntime(configuration: configuration, logger: logger)
    }

    /// Runs `body`; kept so call sites read as before (errors are reported by `CommandFailure`).
    static func report<T>(_ body: () async throws -> T) async throws -> T { try await body() }

    static func report<T>(_ body: () throws -> T) throws -> T { try body() }
}

/// `switchyard collections [list|create|describe|delete]`.
struct CollectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collections", abstract: "List, create, describe and delete collections.",
        subcommands: [List.self, Create.self, Describe.self, Delete.self], defaultSubcommand: List.self)

    struct Location: ParsableArguments {
        @Option(name: .shortAndLong, help: "Path of the YAML configuration (default: ./switchyard.yaml, else the running gateway's).")
        var config: String?

        @Option(help: "Path of the SQLite file (instead of the config's storage.sqlite).")
        var db: String?
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List collections.")
        @OptionGroup var location: Location

        func run() async throws {
            let runtime = try CollectionsRuntime.open(config: location.config, db: location.db)
            print("name                 embedding_model              dim  documents  chunks")
            for info in runtime.gateway.collections.listCollections() {
                print(
                    [info.name.padding(20), info.embeddingModel.padding(28), String(info.dimension).padding(4),
                     String(info.documents).padding(10), String(info.chunks)].joined(separator: " "))
            }
            await runtime.shutdown()
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a collection.")
        @OptionGroup var location: Location
        @Argument var name: String
        @Option(help: "Embedding model (default: retrieval.embedding_model, else local/all-minilm-l6-v2).")
        var embeddingModel: String?

        func run() async throws {
            let runtime = try CollectionsRuntime.open(config: location.config, db: location.db)
            let info = try await CollectionsRuntime.report {
                try await runtime.gateway.collections.createCollection(name: name, embeddingModel: embeddingModel)
            }
            print("created collection '\(info.name)' (\(info.embeddingModel), \(info.dimension) dimensions)")
            await runtime.shutdown()
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a collection.")
        @OptionGroup var location: Location
        @Argument var name: String

        func run() async throws {
            let runtime = try CollectionsRuntime.open(config: location.config, db: location.db)
            let info = try CollectionsRuntime.report { try runtime.gateway.collections.describe(name) }
            print("name: \(info.name)\nembedding_model: \(info.embeddingModel)\ndimension: \(info.dimension)\ndocuments: \(info.documents)\nchunks: \(info.chunks)")
            await runtime.shutdown()
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a collection with its documents and index files.")
        @OptionGroup var location: Location
        @Argument var name: String

        func run() async throws {
            let runtime = try CollectionsRuntime.open(config: location.config, db: location.db)
            try CollectionsRuntime.report { try runtime.gateway.collections.deleteCollection(name) }
            print("deleted collection '\(name)'")
            await runtime.shutdown()
        }
    }
}

/// `switchyard search C "query"`.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Search a collection.")

    @Argument(help: "The collection.")
    var collection: String

    @Argument(help: "What to look for.")
    var query: String

    @Option(help: "hybrid (default), dense or bm25.")
    var mode: String = "hybrid"

    @Option(name: .customLong("top-k"), help: "How many chunks.")
    var topK: Int = 5

    @Option(help: "Metadata filter as JSON, e.g. '{\"year\": {\"gte\": 2020}}'.")
    var filter: String?

    @Option(help: "MMR diversity lambda from 0 (diverse) to 1 (relevant).")
    var mmr: Double?

    @Option(help: "Rerank stage: on or off for this search (default: the collection's setting).")
    var rerank: Bool?

    @Option(name: .customLong("rerank-top-n"), help: "Fused candidates the rerank stage reorders (turns it on).")
    var rerankTopN: Int?

    @Option(name: .customLong("min-score"), help: "Drop results whose final score is below this.")
    var minScore: Double?

    @Option(help: "See only what a key with these comma-separated groups would see (default: everything).")
    var groups: String?

    @Flag(help: "Print the results as JSON.")
    var json = false

    @OptionGroup var location: CollectionsCommand.Location

    @Option(help: "API key for a running gateway with auth on (default: $SWITCHYARD_KEY).")
    var key: String?

    func run() async throws {
        var request: [String: JSONValue] = ["query": .string(query), "mode": .string(mode), "top_k": .int(Int64(topK))]
        if let filter {
            guard let value = JSONValue.parse(filter) else { throw ValidationError("--filter is not valid JSON.") }
            request["filter"] = value
        }
        if let mmr { request["mmr"] = .double(mmr) }
        if let rerankTopN {
            request["rerank"] = ["enabled": .bool(rerank ?? true), "top_n": .int(Int64(rerankTopN))]
        } else if let rerank {
            request["rerank"] = .bool(rerank)
        }
        if let minScore { request["min_score"] = .double(minScore) }
        let options = try SearchOptions.parse(.object(request))
        let started = ContinuousClock.now
        let results: [SearchLine]
        if groups == nil, let running = ConfigurationFinder.runningGateway(config: location.config, db: location.db) {
            // The running gateway answers as a client would see it (under the key's permissions).
            let escaped = collection.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_", "."])) ?? collection
            let reply = try await GatewayClient(url: running.url, key: key).call(.POST, "/v1/switchyard/collections/\(escaped)/search", body: .object(request))
            results = (reply["results"]?.arrayValue ?? []).map(SearchLine.init(json:))
        } else {
            let runtime = try CollectionsRuntime.open(config: location.config, db: location.db)
            let access: AccessScope = groups.map { .groups(Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })) } ?? .all
            do {
                results = try await runtime.gateway.collections.search(options, in: collection, access: access).map(SearchLine.init(result:))
            } catch {
                await runtime.shutdown()
                throw error
            }
            await runtime.shutdown()
        }
        let milliseconds = started.secondsElapsed * 1000
        if json {
            for result in results { print(result.json.jsonString()) }
        } else {
            for (rank, result) in results.enumerated() {
                let heading = result.headings.isEmpty ? "" : " § " + result.headings.joined(separator: " › ")
                print(String(format: "%2d. %.4f  %@#%d%@", rank + 1, result.score, result.documentID, result.position, heading))
                let preview = result.text.split(whereSeparator: { $0.isNewline }).joined(separator: " ")
                print("    " + (preview.count > 200 ? String(preview.prefix(200)) + "…" : preview))
            }
            print(String(format: "%d results in %.1f ms (%@)", results.count, milliseconds, options.mode.rawValue))
        }
    }
}

/// One search result as `search` prints it, from the collections API or a local search.
struct SearchLine {
    var documentID: String
    var position: Int
    var score: Double
    var text: String
    var headings: [String]
    var json: JSONValue

    init(json: JSONValue) {
        documentID = json["document_id"]?.stringValue ?? ""
        position = json["position"]?.intValue ?? 0
        score = json["score"]?.finiteDoubleValue ?? 0
        text = json["text"]?.stringValue ?? ""
        headings = json["metadata"]?["headings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.json = json
    }

    init(result: SearchResult) {
        self.init(json: [
            "document_id": .string(result.hit.documentID), "chunk_id": .string(String(result.hit.chunkID)),
            "score": .double(Double(result.hit.score)), "text": .string(result.hit.text), "position": .int(Int64(result.hit.position)),
            "metadata": .object(result.metadata.merging(["headings": .array(result.hit.headingPath.map { .string($0) })]) { a, _ in a }),
        ])
    }
}
