import ArgumentParser
import Foundation
import Gateway
import Storage
import SwitchyardCore

/// `switchyard logs`: the newest request-log records, read straight from the SQLite file.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Show recent requests from the request log.")

    @Option(name: .shortAndLong, help: "Configuration whose storage.sqlite to read.")
    var config: String?

    @Option(help: "Path of the SQLite file (instead of --config).")
    var db: String?

    @Option(name: .shortAndLong, help: "How many records.")
    var limit: Int = 20

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() async throws {
        let path = try ConfigurationFinder.databasePath(db: db, config: config)
        guard path == ":memory:" || FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("No request log at '\(path)' yet: it is created when the gateway serves its first request.")
        }
        let records = try await RequestLogStore(path: path).recent(limit: limit)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            for record in records { print(String(decoding: try encoder.encode(record), as: UTF8.self)) }
            return
        }
        let formatter = ISO8601DateFormatter()
        print("time                  id                           caller       proto      model                provider        status  tokens(in/out)  cost_usd      latency_ms  ttft_ms")
        for record in records {
            let tokens = "\(record.promptTokens)/\(record.completionTokens)\(record.usageEstimated ? "~" : "")"
            print(
                [
                    formatter.string(from: record.createdAt).padding(21), record.id.padding(28), record.caller.padding(12),
                    record.clientProtocol.padding(10), record.model.padding(20), (record.provider ?? "-").padding(15),
                    String(record.status).padding(7), tokens.padding(15), String(format: "%.8f", record.costUSD).padding(13),
                    String(format: "%.1f", record.latencyMs).padding(11), record.ttftMs.map { String(format: "%.1f", $0) } ?? "-",
                ].joined(separator: " "))
            if let error = record.error { print("    error: \(error)") }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
