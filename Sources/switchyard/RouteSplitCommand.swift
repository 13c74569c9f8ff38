import ArgumentParser
import Foundation
import LearnedRouting

/// `switchyard route split`: a deterministic split of a routing data file by source (subject), so the
/// router is evaluated on subjects it never saw.
struct RouteSplitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split", abstract: "Split a routing data file by source into train / calibration / test files (seeded).")

    @Option(help: "Routing data (JSON Lines).")
    var data: String

    @Option(help: "Directory for train.jsonl, calibration.jsonl, test.jsonl and split.json.")
    var outDir: String

    @Option(help: "source: whole sources go to one part (new subjects at test time); row: rows are split (in-domain, for comparison).")
    var by = "source"

    @Option(help: "Seed of the subject shuffle.")
    var seed: UInt64 = 8

    @Option(help: "Share of the rows (whole sources) that go to the test file.")
    var testFraction = 0.35

    @Option(help: "Share of the rows (whole sources) that go to the calibration file.")
    var calibrationFraction = 0.15

    func run() async throws {
        let dataset = try RouteOutput.loadData(data)
        guard by == "source" || by == "row" else { throw ValidationError("--by must be source or row.") }
        let keys = dataset.examples.enumerated().map { by == "row" ? "row-\($0.offset)" : $0.element.source ?? "" }
        let split = SourceSplit.make(sources: keys, seed: seed, fractions: [testFraction, calibrationFraction])
        let lines = (try String(contentsOfFile: data, encoding: .utf8)).split(separator: "\n", omittingEmptySubsequences: true)
        precondition(lines.count == dataset.examples.count)
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let names = ["test", "calibration", "train"]
        for (part, name) in names.enumerated() {
            let chosen = Set(split.parts[part])
            let rows = zip(lines, keys).filter { chosen.contains($0.1) }.map { String($0.0) }
            try (rows.joined(separator: "\n") + "\n").write(toFile: "\(outDir)/\(name).jsonl", atomically: true, encoding: .utf8)
            print("\(name): \(rows.count) rows" + (by == "row" ? "" : ", \(chosen.count) sources: \(split.parts[part].joined(separator: " "))"))
        }
        let description: [String: Any] = [
            "data": data, "seed": seed, "by": by, "test_fraction": testFraction, "calibration_fraction": calibrationFraction,
            "test": split.parts[0], "calibration": split.parts[1], "train": split.parts[2],
        ]
        let json = try JSONSerialization.data(withJSONObject: description, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: "\(outDir)/split.json"))
    }
}
