import ArgumentParser
import Foundation
import Gateway
import NIOHTTP1
import SwitchyardCore

/// `switchyard eval publish REPORT.json`: uploads a results file (`eval run --output x.json`, or
/// promptfoo's) to a running gateway, which keeps it for the dashboard's Evals view.
struct EvalPublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Upload an eval results file to a running gateway (its dashboard's Evals view shows it).",
        discussion: """
            The file is checked by the gateway as `eval run` would read it; a file that is not a report is refused \
            with the field named. Needs an admin key. Prints the report's id and its dashboard link.
            """)

    @Argument(help: "The results file (.json, as `switchyard eval run --output x.json` writes it).")
    var report: String

    @OptionGroup var connection: GatewayConnection

    func run() async throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: report))
        } catch {
            throw CommandFailure("cannot read \(report): \(error.localizedDescription)", .notFound)
        }
        guard data.count <= Gateway.maximumEvalReportBytes else {
            throw CommandFailure(
                "\(report) is \(data.count) bytes; the gateway keeps reports of at most \(Gateway.maximumEvalReportBytes) bytes.", .dataError)
        }
        try await EvalPublisher(client: connection.client).publish(data)
    }
}

/// Uploads a report and says where it is.
struct EvalPublisher {
    var client: GatewayClient

    func publish(_ data: Data) async throws {
        let answer = try await client.call(.POST, "/v1/switchyard/eval-reports", json: data)
        guard let id = answer["id"]?.stringValue else {
            throw CommandFailure("The gateway at \(client.url) answered without a report id.", .software)
        }
        let rates = (answer["providers"]?.arrayValue ?? []).map { provider in
            "\(provider["label"]?.stringValue ?? "?") \(String(format: "%.1f%%", (provider["pass_rate"]?.finiteDoubleValue ?? 0) * 100))"
        }
        print("published \(id)" + (rates.isEmpty ? "" : " (\(rates.joined(separator: ", ")))"))
        print("dashboard: \(client.url)\(answer["dashboard_path"]?.stringValue ?? "/#/evals/\(id)")")
        print("html:      \(client.url)\(answer["html_path"]?.stringValue ?? "/v1/switchyard/eval-reports/\(id)/html")")
    }
}
