import ArgumentParser
import Embeddings
import Foundation
import SwitchyardCore

/// `switchyard bench embeddings`: throughput and latency of the native embedding model, measured
/// the same way as the reference script `shared/bench/st_baseline.py`.
struct BenchEmbeddingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings",
        abstract: "Benchmark the local all-MiniLM-L6-v2: texts/s, single-query latency, load time, memory."
    )

    @Option(name: .customLong("model-dir"), help: "Model folder (default: $SWITCHYARD_MODEL_DIR or the cache).")
    var modelDirectory: String?

    @Option(help: "Texts in the throughput run (100-128 word-pieces each).")
    var texts = 2000

    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.")
    var batchSize = 32

    @Option(help: "Timed throughput runs after one warm-up run; the fastest is reported.")
    var runs = 3

    @Option(help: "Single queries timed after 10 warm-up queries.")
    var queries = 200

    @Option(name: .customLong("query"), help: "The single query timed (default: a 12-word sentence of 15 word-pieces).")
    var queryText: String = Self.query

    @Option(help: "Dense-layer precision: float32 (default, exact) or bfloat16 (AVX512_BF16 CPUs).")
    var precision: EmbeddingPrecision = .float32

    @Option(help: "Kernels for the dense layers: auto, blas (OpenBLAS only), avx512 (no OpenBLAS), swift (portable only).")
    var kernels = "auto"

    @Option(name: .customLong("blas-min-rows"), help: "With auto kernels: fewest rows for which OpenBLAS is used.")
    var blasMinimumRows: Int?

    static let sentences = [
        "The library extended its opening hours during the exam period.",
        "My neighbor grows tomatoes, peppers, and basil on his tiny balcony.",
        "The committee will vote on the new budget next Thursday afternoon.",
        "Electric cars are becoming cheaper as battery prices continue to fall.",
        "The river flooded the lower fields after three days of heavy rain.",
        "Our flight was delayed because of a mechanical problem with the landing gear.",
        "Honeybees communicate the location of flowers through a waggle dance.",
        "The server crashed at midnight and the on-call engineer restarted it remotely.",
        "Volcanic soil is often very fertile, which is why farmers settle near volcanoes.",
        "A good night's sleep improves memory, mood, and concentration.",
        "Most of the world's fresh water is locked up in glaciers and ice caps.",
        "Solar panels on the school roof now supply about half of its electricity.",
        "Our team rewrote the billing service to reduce latency under heavy load.",
        "The documentary follows a family of elephants across the Kalahari desert.",
        "Octopuses can change both the color and the texture of their skin.",
        "The software update fixed the bug that drained the phone's battery overnight.",
        "Wildfire smoke drifted hundreds of miles and turned the sunset orange.",
        "Our database queries slowed down after the table grew past ten million rows.",
        "The spacecraft sent back detailed photographs of Jupiter's largest moon.",
        "Good documentation explains not only how a system works but also why it was designed that way.",
        "Ice cores drilled from Antarctica contain tiny bubbles of ancient air.",
        "Migratory birds use the Earth's magnetic field and the position of the sun to find their way.",
        "The engineers split the monolith into smaller services and discovered new failure modes.",
        "Public libraries now lend laptops, fishing rods, sewing machines, and even telescopes.",
        "Coral reefs cover less than one percent of the ocean floor yet support a quarter of marine species.",
        "Every distributed system eventually has to deal with partial failure.",
        "Designing operations to be idempotent is one of the most reliable ways to handle retries.",
        "The archaeologists uncovered fragments of painted pottery and a bronze pin.",
        "Modern weather forecasting relies on enormous computer models of the atmosphere.",
        "The small island has no cars, no airport, and only one shop.",
        "Visitors come in summer to watch the puffins nesting on the cliffs.",
        "Teaching a computer to understand language turned out to be far harder than expected.",
    ]

    /// The reference query: 12 words, 15 word-pieces with [CLS]/[SEP].
    static let query = "How do I reset my password after the account was locked yesterday?"

    /// `count` texts of `low`…`high` word-pieces (with [CLS]/[SEP]), built exactly as the reference
    /// script builds them, so both sides embed the same texts.
    static func buildTexts(count: Int, low: Int = 100, high: Int = 128, pieces: (String) -> Int) -> [String] {
        let words = sentences.joined(separator: " ").split(separator: " ").map(String.init)
        let counts = words.map(pieces)
        var texts: [String] = []
        for i in 0..<count {
            let target = low + (i * 5) % (high - low - 7)
            var j = i % words.count
            var out: [String] = []
            var total = 2
            while total + counts[j % words.count] <= target || total < low {
                out.append(words[j % words.count])
                total += counts[j % words.count]
                j += 1
            }
            texts.append(out.joined(separator: " "))
        }
        return texts
    }

    /// Resident set size from /proc/self/status, in MiB (nil where there is no procfs).
    static func residentMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kib = line.split(separator: " ").compactMap { Double($0) }.first
            return kib.map { $0 / 1024 }
        }
        return nil
    }

    /// numpy.percentile's default (linear interpolation).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = p / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down)), upper = min(sorted.count - 1, lower + 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func run() async throws {
        let clock = ContinuousClock()
        let rssBefore = Self.residentMiB()
        let loadStart = clock.now
        var embedder: MiniLMEmbedder
        let directory = modelDirectory.map { URL(fileURLWithPath: $0) }
        embedder = try MiniLMEmbedder.load(
            from: directory ?? ModelStore.defaultDirectory(for: ModelCatalog.miniLM), batchSize: batchSize, precision: precision)
        switch kernels {
        case "auto": embedder = embedder.withKernels(blasMinimumRows: blasMinimumRows)
        case "blas": embedder = embedder.withKernels(avx512: false)
        case "avx512": embedder = embedder.withKernels(blas: false)
        case "swift": embedder = embedder.withKernels(blas: false, avx512: false)
        default: throw ValidationError("--kernels must be one of: auto, blas, avx512, swift")
        }
        let loadSeconds = Self.seconds(clock.now - loadStart)
        let rssLoaded = Self.residentMiB()
        log("precision: \(embedder.precision.rawValue); kernels: \(embedder.computeBackend); cores: \(ProcessInfo.processInfo.activeProcessorCount)")

        let corpus = Self.buildTexts(count: texts) { embedder.tokenize($0).count - 2 }
        let lengths = corpus.map { embedder.tokenize($0).count }
        log("texts=\(corpus.count) wordpieces(with CLS/SEP) min=\(lengths.min() ?? 0) mean=\(String(format: "%.1f", Double(lengths.reduce(0, +)) / Double(max(1, lengths.count)))) max=\(lengths.max() ?? 0)")

        var best = Double.infinity
        var progress = BenchProgress("throughput", total: runs + 1, unit: "runs")
        for run in 0...runs {
            let start = clock.now
            let vectors = embedder.embedSync(corpus)
            let elapsed = Self.seconds(clock.now - start)
            precondition(vectors.count == corpus.count && vectors.allSatisfy { $0.count == embedder.dimensions })
            log(run == 0 ? "warm-up run: \(fmt(elapsed)) s (\(fmt(Double(corpus.count) / elapsed, 1)) texts/s)"
                         : "run \(run): \(fmt(elapsed)) s (\(fmt(Double(corpus.count) / elapsed, 1)) texts/s)")
            if run > 0 { best = min(best, elapsed) }
            progress.tick()
        }
        progress.finish()
        let throughput = runs > 0 ? Double(corpus.count) / best : .nan

        for _ in 0..<10 { _ = embedder.embedSync([queryText]) }
        var latencies: [Double] = []
        var queryProgress = BenchProgress("query latency", total: queries, unit: "queries")
        for _ in 0..<queries {
            let start = clock.now
            let vector = embedder.embedSync([queryText])
            latencies.append(Self.seconds(clock.now - start) * 1000)
            precondition(vector.count == 1)
            queryProgress.tick()
        }
        queryProgress.finish()
        latencies.sort()
        let p50 = Self.percentile(latencies, 50), p99 = Self.percentile(latencies, 99)
        log("query: \(queryText.split(separator: " ").count) words, \(embedder.tokenize(queryText).count) word-pieces; \(queries) calls; min=\(fmt(latencies.first ?? .nan)) ms max=\(fmt(latencies.last ?? .nan)) ms")
        let rssAfter = Self.residentMiB()
        let mib: (Double?) -> String = { $0.map { String(format: "%.0f", $0) } ?? "n/a" }
        print("throughput_texts_per_s=\(fmt(throughput, 1)) query_p50_ms=\(fmt(p50)) query_p99_ms=\(fmt(p99)) "
              + "load_ms=\(fmt(loadSeconds * 1000, 1)) rss_start_mib=\(mib(rssBefore)) rss_loaded_mib=\(mib(rssLoaded)) rss_after_mib=\(mib(rssAfter))")
    }

    private func fmt(_ value: Double, _ decimals: Int = 2) -> String {
        String(format: "%.\(decimals)f", value)
    }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
