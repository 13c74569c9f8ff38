import ArgumentParser
import Foundation
import Gateway
import NIOHTTP1
import Storage
import SwitchyardCore

/// `switchyard logs`: the newest request-log records, read straight from the storage (SQLite or PostgreSQL).
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Show recent requests from the request log.")

    @Option(name: .shortAndLong, help: "Configuration whose storage (storage.sqlite or storage.postgres) to read (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Path of the SQLite file (instead of --config).")
    var db: String?

    @Option(name: .shortAndLong, help: "How many records (1-10000).")
    var limit: Int = 20

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "API key for a gateway with auth on (default: $SWITCHYARD_KEY).")
    var key: String?

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000.") }
    }

    func run() async throws {
        let records = try await RequestLogSource.recent(limit: limit, config: config, db: db, key: key)
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
            if let summary = Self.feedbackSummary(record) { print("    feedback: \(summary)") }
        }
    }

    /// `helpful=1 (2), rating=4`: the newest value per metric, and how many were given when more than one.
    static func feedbackSummary(_ record: RequestRecord) -> String? {
        guard let feedback = record.feedback, !feedback.isEmpty else { return nil }
        var latest: [String: (value: FeedbackValue, count: Int)] = [:]
        for item in feedback.sorted(by: { $0.createdAt < $1.createdAt }) {
            latest[item.metric] = (item.value, (latest[item.metric]?.count ?? 0) + 1)
        }
        return latest.sorted { $0.key < $1.key }.map { metric, entry in
            "\(metric)=\(entry.value.json.jsonString())" + (entry.count > 1 ? " (\(entry.count))" : "")
        }.joined(separator: ", ")
    }
}

/// Where `logs` and `explain` read: the running gateway's API when one serves this configuration
/// (it writes its queued lines first, so a request that just finished is there), else the configuration's
/// storage: the SQLite file, or the PostgreSQL database (`storage.postgres`).
enum RequestLogSource {
    static func recent(limit: Int, config: String?, db: String?, key: String?) async throws -> [RequestRecord] {
        if let running = ConfigurationFinder.runningGateway(config: config, db: db) {
            let reply = try await GatewayClient(url: running.url, key: key).call(.GET, "/v1/switchyard/requests?limit=\(limit)")
            return try decode([RequestRecord].self, from: reply["data"] ?? [])
        }
        return try await StorageLocation.find(db: db, config: config).withRequestLog { store in
            try await withFeedback(try await store.recent(limit: limit), store: store)
        }
    }

    static func record(id: String, config: String?, db: String?, key: String?) async throws -> RequestRecord? {
        if let running = ConfigurationFinder.runningGateway(config: config, db: db) {
            let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["_", "-"])) ?? id
            do {
                let reply = try await GatewayClient(url: running.url, key: key).call(.GET, "/v1/switchyard/requests/\(escaped)")
                return try decode(RequestRecord.self, from: reply)
            } catch let failure as CommandFailure where failure.kind == .notFound {
                return nil
            }
        }
        return try await StorageLocation.find(db: db, config: config).withRequestLog { store in
            guard let record = try await store.record(id: id) else { return nil }
            return try await withFeedback([record], store: store).first
        }
    }

    /// The feedback on each record and its episode, as the API attaches it.
    private static func withFeedback(_ records: [RequestRecord], store: any RequestLogPersistence) async throws -> [RequestRecord] {
        let feedback = try await store.feedback(for: records)
        return records.map { record in
            var record = record
            record.feedback = feedback[record.id] ?? []
            return record
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.jsonString().utf8))
        } catch {
            throw CommandFailure("The gateway's request log answer could not be read: \(error)", .software)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
