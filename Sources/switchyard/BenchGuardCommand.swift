import ArgumentParser
import Embeddings
import Foundation
import Guardrails

/// `switchyard bench guard`: what a guard scan costs in the process — both heads on one encoder pass, and the
/// pattern tier alone — on prompts of a given length.
struct BenchGuardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard", abstract: "Time guard scans (injection + PII in one encoder pass; patterns alone) per prompt.")

    @Option(help: "Scans per prompt length.")
    var iterations = 200

    @Option(help: "Prompt lengths in characters.")
    var lengths: [Int] = [200, 1000, 4000]

    @Option(name: .customLong("model-dir"), help: "Model folder (default: $SWITCHYARD_MODEL_DIR or the model cache).")
    var modelDirectory: String?

    /// Sentences of an ordinary support conversation with some personal data; repeated to the length wanted.
    static let sentences = [
        "Hello, my name is Daniela Ferreira and I ordered a standing desk last week.",
        "The delivery was supposed to arrive at Rua das Flores 27, 4050-265 Porto, but nobody came.",
        "You can reach me at daniela.ferreira@example.org or on +351 912 345 678 during the day.",
        "Could you check whether the courier tried to deliver it, and tell me when I can expect it?",
        "I paid with the card ending 4242 and would rather not be charged twice for the shipping.",
        "If the desk is lost, please send a replacement instead of a refund; we need it for the new office.",
    ]

    static func prompt(length: Int) -> String {
        var text = ""
        var index = 0
        while text.count < length {
            text += sentences[index % sentences.count] + " "
            index += 1
        }
        return String(text.prefix(length))
    }

    func run() async throws {
        guard iterations >= 1, iterations <= 1_000_000, lengths.allSatisfy({ (1...1_000_000).contains($0) }) else {
            throw CommandFailure("--iterations and --lengths must be from 1 to 1000000", .dataError)
        }
        let embedder = try MiniLMEmbedder.load(modelDirectory: modelDirectory)
        let detector = try NativeGuardDetector(embedder: embedder)
        print("guard scan per prompt, \(iterations) scans each, backend \(embedder.computeBackend)")
        print("length  tokens  scan p50 ms  scan p99 ms  patterns p50 µs  patterns p99 µs")
        for length in lengths {
            let text = Self.prompt(length: length)
            for _ in 0..<5 { _ = try detector.scan(text, channel: .user) }
            let scans = try Self.time(iterations, progress: "scan, length \(length)") { _ = try detector.scan(text, channel: .user) }
            let patterns = try Self.time(iterations * 10, progress: "patterns, length \(length)") { _ = PIIPatterns.find(in: text) }
            print(
                String(
                    format: "%6d  %6d  %11.2f  %11.2f  %15.1f  %15.1f", length, embedder.tokenizer.pieceCount(text),
                    scans.p50 * 1e3, scans.p99 * 1e3, patterns.p50 * 1e6, patterns.p99 * 1e6))
        }
    }

    /// p50 and p99 in seconds of `count` calls; the progress (stderr) is ticked between samples.
    static func time(_ count: Int, progress label: String, _ body: () throws -> Void) throws -> (p50: Double, p99: Double) {
        let clock = ContinuousClock()
        var samples: [Double] = []
        samples.reserveCapacity(count)
        var progress = BenchProgress(label, total: count, unit: "calls")
        for _ in 0..<count {
            let started = clock.now
            try body()
            let (seconds, attoseconds) = (clock.now - started).components
            samples.append(Double(seconds) + Double(attoseconds) / 1e18)
            progress.tick()
        }
        progress.finish()
        samples.sort()
        return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }
}
