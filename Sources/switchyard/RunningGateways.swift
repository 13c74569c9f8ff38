import Foundation

/// The gateways `switchyard serve` is running on this machine, so that other commands (`logs`,
/// `explain`, `cache`, `search`, `tools`, `chat`, `ingest`, `models`) find the one to talk to, and
/// its configuration, without flags.
///
/// Each running `serve` keeps a small JSON file, `gateway-<port>.json`, in the state folder
/// (`$SWITCHYARD_STATE_DIR`, else `$XDG_STATE_HOME/switchyard`, else `~/.local/state/switchyard`),
/// removed when it stops; files of processes that are gone are ignored and cleaned up.
struct GatewayRecord: Codable, Sendable {
    var pid: Int32
    var url: String
    var port: Int
    /// The configuration file it runs (the demo writes its own into its state folder).
    var config: String
    var database: String
    var demo: Bool
    /// True when clients need a key.
    var auth: Bool
    var startedAt: Date
}

enum RunningGateways {
    static var stateDirectory: URL {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["SWITCHYARD_STATE_DIR"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("switchyard")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/state/switchyard")
    }

    /// The folder a demo gateway on `port` keeps its database, collections and config in.
    static func demoDirectory(port: Int) -> URL {
        stateDirectory.appendingPathComponent("demo-\(port)")
    }

    private static func file(port: Int) -> URL {
        stateDirectory.appendingPathComponent("gateway-\(port).json")
    }

    static func register(_ record: GatewayRecord) {
        do {
            try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(record).write(to: file(port: record.port), options: .atomic)
        } catch {
            // Discovery is a convenience: without it, commands take --url / --config as before.
        }
    }

    static func unregister(port: Int) {
        try? FileManager.default.removeItem(at: file(port: port))
    }

    /// Every registered gateway whose process still runs, newest first.
    static func all() -> [GatewayRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory.path)) ?? []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var records: [GatewayRecord] = []
        for name in names where name.hasPrefix("gateway-") && name.hasSuffix(".json") {
            let path = stateDirectory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path.path),
                let record = try? decoder.decode(GatewayRecord.self, from: data)
            else { continue }
            if kill(record.pid, 0) == 0 || errno == EPERM {
                records.append(record)
            } else {
                try? FileManager.default.removeItem(at: path)  // its process is gone
            }
        }
        return records.sorted { $0.startedAt > $1.startedAt }
    }

    /// The gateway a command without --url/--config means: the one at `$SWITCHYARD_URL` if set, else
    /// the only one running, else the one on port 4000, else the newest.
    static func current() -> GatewayRecord? {
        let running = all()
        if let url = ProcessInfo.processInfo.environment["SWITCHYARD_URL"], !url.isEmpty {
            return running.first { $0.url == url.trimmingCharacters(in: ["/"]) }
        }
        if running.count <= 1 { return running.first }
        return running.first { $0.port == 4000 } ?? running.first
    }

    /// The base URL a client command talks to: `--url`, `$SWITCHYARD_URL`, the running gateway's, or the default.
    static func url(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let environment = ProcessInfo.processInfo.environment["SWITCHYARD_URL"], !environment.isEmpty { return environment }
        return current()?.url ?? "http://127.0.0.1:4000"
    }
}
