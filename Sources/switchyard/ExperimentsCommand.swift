import ArgumentParser
import Foundation
import SwitchyardCore

/// `switchyard experiments list|report`: the configured traffic splits of a running gateway and how
/// each variant does against the control (an admin's key).
struct ExperimentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments", abstract: "List experiments and report how each variant does against the control.",
        subcommands: [List.self, Report.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The configured experiments and their variants.")
        @OptionGroup var connection: GatewayConnection

        func run() async throws {
            let list = try await connection.client.call(.GET, "/v1/switchyard/experiments")
            for experiment in list["data"]?.arrayValue ?? [] {
                let variants = (experiment["variants"]?.arrayValue ?? []).map { variant in
                    "\(variant["name"]?.stringValue ?? "-") → \(variant["target"]?.stringValue ?? "-") (weight \(NumberText.plain(variant["weight"]?.finiteDoubleValue ?? 0)))"
                }
                print("\(experiment["name"]?.stringValue ?? "-"): " + variants.joined(separator: ", "))
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report", abstract: "Requests, cost, latency, errors and feedback per variant, and tests against the control.")
        @OptionGroup var connection: GatewayConnection
        @Argument(help: "The experiment's name.")
        var name: String
        @Flag(help: "Print the gateway's JSON answer.")
        var json = false

        func run() async throws {
            let escaped = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_", "."])) ?? name
            let report = try await connection.client.call(.GET, "/v1/switchyard/experiments/\(escaped)")
            if json {
                print(report.jsonString())
                return
            }
            print(Self.render(report))
        }

        static func render(_ report: JSONValue) -> String {
            var lines = ["experiment \(report["name"]?.stringValue ?? "-") (control: \(report["control"]?.stringValue ?? "-"))"]
            lines.append(
                "variant".padding(16) + " " + "target".padding(18) + " " + "requests".padding(9) + " " + "errors".padding(8) + " "
                    + "cost_usd".padding(12) + " " + "mean_usd".padding(12) + " " + "p50_ms".padding(9) + " " + "p95_ms".padding(9) + " feedback")
            func number(_ value: JSONValue?, _ format: String) -> String {
                value?.finiteDoubleValue.map { String(format: format, $0) } ?? "-"
            }
            for variant in report["variants"]?.arrayValue ?? [] {
                let feedback = (variant["feedback"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { metric, stat in
                    "\(metric) \(number(stat["mean"], "%.3f")) (n=\(stat["count"]?.intValue ?? 0))"
                }.joined(separator: ", ")
                lines.append(
                    (variant["name"]?.stringValue ?? "-").padding(16) + " " + (variant["target"]?.stringValue ?? "-").padding(18) + " "
                        + String(variant["requests"]?.intValue ?? 0).padding(9) + " " + number(variant["error_rate"].map { .double(($0.finiteDoubleValue ?? 0) * 100) }, "%.1f%%").padding(8) + " "
                        + number(variant["cost_usd"]?["total"], "%.6f").padding(12) + " " + number(variant["cost_usd"]?["mean"], "%.6f").padding(12) + " "
                        + number(variant["latency_ms"]?["p50"], "%.1f").padding(9) + " " + number(variant["latency_ms"]?["p95"], "%.1f").padding(9) + " "
                        + (feedback.isEmpty ? "-" : feedback))
            }
            for comparison in report["comparisons"]?.arrayValue ?? [] {
                var line = "\(comparison["variant"]?.stringValue ?? "-") vs \(comparison["control"]?.stringValue ?? "-") on \(comparison["metric"]?.stringValue ?? "-"): "
                line += "\(number(comparison["mean"], "%.3f")) vs \(number(comparison["control_mean"], "%.3f")) "
                line += "(n \(comparison["n"]?.intValue ?? 0) / \(comparison["control_n"]?.intValue ?? 0)), "
                if let p = comparison["p_value"]?.finiteDoubleValue {
                    line += "\(comparison["test"]?.stringValue ?? "test") p = \(String(format: "%.4f", p))"
                    line += comparison["significant"]?.boolValue == true ? " (significant at 0.05)" : " (not significant at 0.05)"
                } else {
                    line += comparison["note"]?.stringValue ?? "no test"
                }
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
    }
}
