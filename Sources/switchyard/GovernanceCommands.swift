import ArgumentParser
import Foundation
import Governance
import Storage
import SwitchyardCore

/// `switchyard keys create|list|revoke`: virtual keys on a running gateway (an admin's or team admin's key).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke virtual keys on a running gateway.",
        subcommands: [List.self, Create.self, Revoke.self], defaultSubcommand: List.self)

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create a key and print its secret (shown only this once).")
        @OptionGroup var connection: GatewayConnection
        @Argument(help: "The key's name (who or what uses it).")
        var name: String
        @Option(help: "Its team (created first with `switchyard teams create`).")
        var team: String?
        @Option(help: "admin, team_admin or member (default: member).")
        var role: String?
        @Option(name: .customLong("model"), help: "A model name or glob it may use (repeatable; default: all).")
        var models: [String] = []
        @Option(name: .customLong("tool"), help: "An MCP tool glob it may call (repeatable; default: all).")
        var tools: [String] = []
        @Option(name: .customLong("group"), help: "A retrieval group whose documents it may see (repeatable).")
        var groups: [String] = []
        @Option(help: "Collections: read or write (default: read; write for admins).")
        var collections: String?
        @OptionGroup var limits: TeamsCommand.Limits
        @Option(name: .customLong("tag"), help: "A cost-attribution tag, name=value (repeatable).")
        var tags: [String] = []
        @Option(help: "Expire after this many seconds.")
        var expiresIn: Int?
        @Flag(help: "Print the gateway's JSON answer.")
        var json = false

        func run() async throws {
            var body: [String: JSONValue] = ["name": .string(name)]
            if let team { body["team"] = .string(team) }
            if let role { body["role"] = .string(role) }
            if !models.isEmpty { body["models"] = .array(models.map { .string($0) }) }
            if !tools.isEmpty { body["tools"] = .array(tools.map { .string($0) }) }
            if !groups.isEmpty { body["groups"] = .array(groups.map { .string($0) }) }
            if let collections { body["collections"] = .string(collections) }
            body.merge(try limits.fields()) { _, limit in limit }
            if !tags.isEmpty {
                var object: [String: JSONValue] = [:]
                for tag in tags {
                    guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else {
                        throw ValidationError("--tag takes name=value; '\(tag)' has no name.")
                    }
                    object[String(tag[..<equals])] = .string(String(tag[tag.index(after: equals)...]))
                }
                body["tags"] = .object(object)
            }
            if let expiresIn { body["expires_in_s"] = .int(Int64(expiresIn)) }
            let created = try await connection.client.call(.POST, "/v1/switchyard/keys", body: .object(body))
            if json {
                print(created.jsonString())
                return
            }
            print("id      \(created["id"]?.stringValue ?? "-")")
            print("name    \(created["name"]?.stringValue ?? "-")")
            print("role    \(created["role"]?.stringValue ?? "-")")
            if let team = created["team"]?.stringValue { print("team    \(team)") }
            print("key     \(created["key"]?.stringValue ?? "-")")
            FileHandle.standardError.write(Data("The key is shown only this once: the gateway keeps its hash, not the key.\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The keys you may manage (never their secrets).")
        @OptionGroup var connection: GatewayConnection
        @Flag(help: "Print the gateway's JSON answer.")
        var json = false

        func run() async throws {
            let list = try await connection.client.call(.GET, "/v1/switchyard/keys")
            if json {
                print(list.jsonString())
                return
            }
            let keys = list["data"]?.arrayValue ?? []
            print("\("id".padding(21)) \("name".padding(20)) \("role".padding(10)) \("team".padding(14)) \("prefix".padding(12)) \("source".padding(6)) state")
            for key in keys {
                let state = key["revoked"]?.boolValue == true ? "revoked"
                    : (key["expires_at"]?.intValue).map { Double($0) <= Date().timeIntervalSince1970 ? "expired" : "active" } ?? "active"
                print(
                    "\((key["id"]?.stringValue ?? "-").padding(21)) \((key["name"]?.stringValue ?? "-").padding(20)) "
                        + "\((key["role"]?.stringValue ?? "-").padding(10)) \((key["team"]?.stringValue ?? "-").padding(14)) "
                        + "\((key["prefix"]?.stringValue ?? "-").padding(12)) \((key["source"]?.stringValue ?? "-").padding(6)) \(state)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key at once (its spend history stays).")
        @OptionGroup var connection: GatewayConnection
        @Argument(help: "The key's id (key_…), as `switchyard keys list` shows it.")
        var id: String

        func run() async throws {
            let path = "/v1/switchyard/keys/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id)
            let revoked = try await connection.client.call(.DELETE, path)
            print("revoked \(revoked["id"]?.stringValue ?? id) (\(revoked["name"]?.stringValue ?? "-"))")
        }
    }
}

/// `switchyard teams create|list`: teams (a shared budget and limits) on a running gateway.
struct TeamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teams", abstract: "Create, change and list teams on a running gateway.",
        subcommands: [List.self, Create.self, Update.self], defaultSubcommand: List.self)

    /// Budget and rate-limit options, shared by `teams create|update` and `keys create`.
    struct Limits: ParsableArguments {
        @Option(name: .customLong("budget"), help: "A budget in US dollars.")
        var budgetUSD: Double?
        @Option(help: "The budget's period: day, week, month or total (default: month).")
        var period: String?
        @Option(help: "hard (refuse) or soft (allow and flag) (default: hard).")
        var mode: String?
        @Option(help: "Requests per minute.")
        var rpm: Int?
        @Option(help: "Tokens per minute.")
        var tpm: Int?

        func fields() throws -> [String: JSONValue] {
            var body: [String: JSONValue] = [:]
            if let budgetUSD {
                var budget: [String: JSONValue] = ["usd": .double(budgetUSD)]
                if let period { budget["period"] = .string(period) }
                if let mode { budget["mode"] = .string(mode) }
                body["budget"] = .object(budget)
            } else if period != nil || mode != nil {
                throw ValidationError("--period and --mode go with --budget.")
            }
            if let rpm { body["rpm"] = .int(Int64(rpm)) }
            if let tpm { body["tpm"] = .int(Int64(tpm)) }
            return body
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a team.")
        @OptionGroup var connection: GatewayConnection
        @Argument(help: "The team's name.")
        var name: String
        @OptionGroup var limits: Limits

        func run() async throws {
            var body = try limits.fields()
            body["name"] = .string(name)
            let team = try await connection.client.call(.POST, "/v1/switchyard/teams", body: .object(body))
            print("created team \(team["name"]?.stringValue ?? name)")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a team's budget or limits.")
        @OptionGroup var connection: GatewayConnection
        @Argument(help: "The team's name.")
        var name: String
        @OptionGroup var limits: Limits

        func run() async throws {
            let path = "/v1/switchyard/teams/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name)
            let team = try await connection.client.call(.PATCH, path, body: .object(try limits.fields()))
            print(team.jsonString())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Teams, their budgets, limits and spend this period.")
        @OptionGroup var connection: GatewayConnection

        func run() async throws {
            let list = try await connection.client.call(.GET, "/v1/switchyard/teams")
            print("\("name".padding(20)) \("budget".padding(26)) \("spent".padding(12)) \("rpm".padding(8)) tpm")
            for team in list["data"]?.arrayValue ?? [] {
                let budget = team["budget"].flatMap { budget -> String? in
                    guard let usd = budget["usd"]?.finiteDoubleValue else { return nil }
                    return String(format: "$%.2f/%@ %@", usd, budget["period"]?.stringValue ?? "", budget["mode"]?.stringValue ?? "")
                } ?? "-"
                let spent = team["spend"]?["spent_usd"]?.finiteDoubleValue.map { String(format: "$%.4f", $0) } ?? "-"
                print(
                    "\((team["name"]?.stringValue ?? "-").padding(20)) \(budget.padding(26)) \(spent.padding(12)) "
                        + "\((team["rpm"]?.intValue.map(String.init) ?? "-").padding(8)) \(team["tpm"]?.intValue.map(String.init) ?? "-")")
            }
        }
    }
}

/// `switchyard spend`: the spend report of a running gateway, as a table, JSON or CSV.
struct SpendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend", abstract: "Spend grouped by key, team, model, route, provider, user, day or tag:<name>.")
    @OptionGroup var connection: GatewayConnection
    @Option(name: .customLong("by"), help: "key, team, model, route, provider, user, day or tag:<name> (default: key).")
    var groupBy = "key"
    @Option(help: "From this time (ISO 8601, or a date like 2026-12-01, UTC).")
    var since: String?
    @Option(help: "Until this time (exclusive).")
    var until: String?
    @Option(help: "table, json or csv (default: table).")
    var format = "table"

    func run() async throws {
        guard ["table", "json", "csv"].contains(format) else { throw ValidationError("--format is table, json or csv.") }
        var query = ["group_by=" + Self.encode(groupBy)]
        if let since { query.append("since=" + Self.encode(since)) }
        if let until { query.append("until=" + Self.encode(until)) }
        let report = try await connection.client.call(.GET, "/v1/switchyard/spend?" + query.joined(separator: "&"))
        let rows = report["data"]?.arrayValue ?? []
        let field = groupBy.hasPrefix("tag:") ? "tag" : groupBy
        switch format {
        case "json":
            print(report.jsonString())
        case "csv":
            print("\(field),\(field == "key" ? "name," : "")cost_usd,requests,prompt_tokens,completion_tokens,feedback")
            for row in rows {
                let name = field == "key" ? Self.csvField(row["name"]?.stringValue ?? "") + "," : ""
                let feedback = row["feedback"]?.objectValue?.isEmpty == false ? Self.feedback(row["feedback"]) : ""
                print(
                    "\(Self.csvField(row[field]?.stringValue ?? "")),\(name)\(String(format: "%.10f", row["cost_usd"]?.finiteDoubleValue ?? 0)),"
                        + "\(row["requests"]?.intValue ?? 0),\(row["prompt_tokens"]?.intValue ?? 0),\(row["completion_tokens"]?.intValue ?? 0),"
                        + Self.csvField(feedback))
            }
        default:
            print("\(field.padding(24)) \(field == "key" ? "name".padding(20) + " " : "")\("cost_usd".padding(14)) \("requests".padding(9)) \("prompt".padding(10)) \("completion".padding(11)) feedback")
            for row in rows {
                let name = field == "key" ? (row["name"]?.stringValue ?? "-").padding(20) + " " : ""
                print(
                    "\((row[field]?.stringValue ?? "-").padding(24)) \(name)\(String(format: "%.6f", row["cost_usd"]?.finiteDoubleValue ?? 0).padding(14)) "
                        + "\(String(row["requests"]?.intValue ?? 0).padding(9)) \(String(row["prompt_tokens"]?.intValue ?? 0).padding(10)) "
                        + "\(String(row["completion_tokens"]?.intValue ?? 0).padding(11)) \(Self.feedback(row["feedback"]))")
            }
            print(String(format: "total: $%.6f", report["total_cost_usd"]?.finiteDoubleValue ?? 0))
        }
    }

    /// One RFC 4180 field: quoted when it holds a comma, a quote or a line break (group values are
    /// user-chosen: a `user` or a tag may hold any of them).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_", ".", "~", ":"])) ?? text
    }

    /// `helpful 0.72 (n=25), rating 4.1 (n=8)`, or `-`.
    static func feedback(_ value: JSONValue?) -> String {
        guard let metrics = value?.objectValue, !metrics.isEmpty else { return "-" }
        return metrics.sorted { $0.key < $1.key }.map { metric, stat in
            "\(metric) " + String(format: "%.2f", stat["mean"]?.finiteDoubleValue ?? 0) + " (n=\(stat["count"]?.intValue ?? 0))"
        }.joined(separator: ", ")
    }
}

/// `switchyard audit verify|list`: the hash-chained audit log, checked offline from the database file.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify or list the audit log of administrative actions.",
        subcommands: [Verify.self, List.self], defaultSubcommand: Verify.self)

    struct Location: ParsableArguments {
        @Option(name: .shortAndLong, help: "Path of the YAML configuration (default: ./switchyard.yaml, else the running gateway's).")
        var config: String?

        @Option(help: "Path of the SQLite file (instead of the config's storage.sqlite).")
        var db: String?

        func entries() throws -> [AuditEntry] {
            let path = try ConfigurationFinder.databasePath(db: db, config: config)
            guard path != ":memory:" else { throw CommandFailure("The gateway keeps its database in memory: there is no audit log to read.", .configuration) }
            guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("No database at \(path).", .notFound) }
            do {
                return try GovernanceStore(path: path).auditEntries()
            } catch {
                throw CommandFailure("Cannot read the audit log in \(path): \(error)", .dataError)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check the audit chain offline: exit 0 when intact, 65 when a row was edited, removed or added.")
        @OptionGroup var location: Location

        func run() async throws {
            let entries = try location.entries()
            if let broken = AuditChain.verify(entries) {
                throw CommandFailure("The audit log does not verify: \(broken) (\(entries.count) entries).", .dataError)
            }
            print("audit log verified: \(entries.count) entries" + (entries.last.map { ", last \($0.hash.prefix(16))… at \(ISO8601DateFormatter().string(from: $0.at))" } ?? ""))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The newest audit entries.")
        @OptionGroup var location: Location
        @Option(help: "How many (default: 50).")
        var limit = 50

        func run() async throws {
            let formatter = ISO8601DateFormatter()
            for entry in try location.entries().suffix(max(1, limit)).reversed() {
                print("\(String(entry.sequence).padding(6)) \(formatter.string(from: entry.at)) \(entry.action.padding(18)) \(entry.target.padding(22)) \(entry.actor)")
            }
        }
    }
}
