import ArgumentParser
import Foundation
import Retrieval

/// `switchyard bench index`: build time, memory, recall@k and queries/s of `HNSWIndex` on vectors
/// from a file, single thread, printed in the same shape as the hnswlib side of
/// `Benchmarks/retrieval.sh` so the two can be read side by side.
struct BenchIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Benchmark the HNSW index: build time, memory, recall@k and queries/s (one thread).")

    @Option(help: "Base vectors (VectorFile: 64-byte header, float32 rows).")
    var vectors: String

    @Option(help: "Query vectors (same format).")
    var queries: String

    @Option(help: "Neighbours per query.") var k = 10
    @Option(help: "HNSW links per node.") var m = 16
    @Option(name: .customLong("ef-construction"), help: "Build beam width.") var efConstruction = 200
    @Option(name: .customLong("ef-search"), help: "Comma-separated search beam widths.") var efSearch = "32,128"
    @Option(help: "cosine or dot.") var metric = "cosine"
    @Option(help: "Seed of the level draws (hnswlib's random_seed; the same seed gives the same levels).") var seed: UInt64 = 42
    @Option(help: "Timed passes over the queries per setting; the fastest is reported.") var rounds = 3
    @Option(help: "Label printed on each line.") var label = "switchyard"
    @Option(help: "Save the built index to this file (for a later --load pass).") var save: String?
    @Option(help: "Load the index from this file instead of building it (search passes only).") var load: String?

    func run() async throws {
        guard let metric = VectorMetric(rawValue: metric) else { throw ValidationError("--metric must be cosine or dot") }
        let efValues = efSearch.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !efValues.isEmpty else { throw ValidationError("--ef-search must list integers, e.g. 32,128") }
        let base = try VectorFile.read(from: URL(fileURLWithPath: vectors))
        let queryRows = try VectorFile.read(from: URL(fileURLWithPath: queries))
        guard let dimension = base.first?.count, queryRows.first?.count == dimension else {
            throw ValidationError("the base and query files must be non-empty with the same dimension")
        }

        // Ground truth by brute force over the same normalised vectors.
        let exact = ExactVectorIndex(dimension: dimension, metric: metric)
        for (id, vector) in base.enumerated() { try exact.insert(id: Int64(id), vector: vector) }
        let truth = queryRows.map { Set(exact.search($0, k: k, efSearch: nil, filter: nil).map(\.id)) }

        let clock = ContinuousClock()
        let index: HNSWIndex
        if let load {
            index = try HNSWIndex.load(from: URL(fileURLWithPath: load))
            guard index.dimension == dimension, index.count == base.count else {
                throw CommandFailure("\(load) does not hold an index of these vectors", .dataError)
            }
            // Fault the mapped pages in, as after a build.
            for query in queryRows.prefix(50) { _ = index.search(query, k: k, efSearch: efValues.max(), filter: nil) }
            print("\(label) loaded: n=\(index.count) from \(load)")
        } else {
            let rssBefore = Self.residentBytes()
            index = HNSWIndex(dimension: dimension, parameters: HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efValues[0], metric: metric, seed: seed))
            // Timed a hundredth at a time, the progress told between the timed parts.
            var progress = BenchProgress("\(label) build", total: base.count, unit: "inserts")
            var buildSeconds = 0.0
            let chunk = max(1, base.count / 100)
            for first in stride(from: 0, to: base.count, by: chunk) {
                let end = min(first + chunk, base.count)
                let start = clock.now
                for id in first..<end { try index.insert(id: Int64(id), vector: base[id]) }
                buildSeconds += Figures.seconds(clock.now - start)
                progress.tick(end - first)
            }
            progress.finish()
            let rssAfter = Self.residentBytes()
            print("\(label) build: n=\(base.count) d=\(dimension) M=\(m) efC=\(efConstruction) build_s=\(Figures.format(buildSeconds, 2)) "
                + "inserts_per_s=\(Figures.format(Double(base.count) / buildSeconds, 0)) rss_delta_mib=\(Figures.format(Double(rssAfter - rssBefore) / 1_048_576, 1)) "
                + "index_mib=\(Figures.format(Double(index.memoryBytes) / 1_048_576, 1))")
            if let save { try index.save(to: URL(fileURLWithPath: save)) }
        }

        for ef in efValues {
            var progress = BenchProgress("\(label) search ef=\(ef)", total: max(rounds, 1) * queryRows.count, unit: "queries")
            var best = Double.infinity
            var found = 0
            for round in 0..<max(rounds, 1) {
                var hits = 0
                let roundStart = clock.now
                for (query, expected) in zip(queryRows, truth) {
                    let results = index.search(query, k: k, efSearch: ef, filter: nil)
                    if round == 0 { hits += results.reduce(0) { $0 + (expected.contains($1.id) ? 1 : 0) } }
                }
                best = min(best, Figures.seconds(clock.now - roundStart))
                progress.tick(queryRows.count)
                if round == 0 { found = hits }
            }
            let recall = Double(found) / Double(queryRows.count * k)
            progress.finish()
            print("\(label) search: ef=\(ef) k=\(k) queries=\(queryRows.count) recall=\(Figures.format(recall, 4)) "
                + "qps=\(Figures.format(Double(queryRows.count) / best, 0)) latency_us=\(Figures.format(best / Double(queryRows.count) * 1e6, 1))")
        }
    }

    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
}
