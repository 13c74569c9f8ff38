import ArgumentParser
import Foundation
import Gateway
import Logging
import Retrieval
import SwitchyardCore

/// `switchyard ingest PATH --collection C`: loads, chunks, embeds and indexes files and folders.
///
/// It works on the database directly (like `logs`), so it needs no running gateway and embeds
/// in-process without HTTP round trips or body limits; a gateway running on the same database
/// reloads the changed collection within `retrieval.sync_s`.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add files and folders to a collection (text, Markdown, HTML, JSON/JSONL, CSV, PDF, source code).",
        discussion: """
            Give one or more files and folders (a shell glob such as docs/*.md works). Re-ingesting an unchanged \
            file does nothing (content hash). Document ids are paths relative to the PATH given (a file's own name \
            when a file is given), plus #row / #line for CSV and JSONL records without an `id`. With no --config, \
            the running gateway's configuration is used (the demo's too). Throughput is printed in documents/s \
            and pages/s, a page being 500 words of extracted text.
            """)

    @Argument(help: "Files and folders.")
    var paths: [String]

    @Option(name: .long, help: "The collection (created with the default embedding model if missing).")
    var collection: String

    @Option(name: .shortAndLong, help: "Path of the YAML configuration (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Path of the SQLite file (instead of the config's storage.sqlite).")
    var db: String?

    @Option(help: "Embedding model when the collection is created here.")
    var embeddingModel: String?

    @Option(help: "JSON/JSONL: the field holding the text (default: text). CSV: the column holding it (default: the whole row).")
    var field: String?

    @Option(help: "Comma-separated groups every ingested document is restricted to (default: public).")
    var allowed: String?

    @Option(help: "Documents embedded per batch.")
    var batch: Int = 64

    @Flag(help: "No progress bar.")
    var quiet = false

    @Flag(help: "Delete the collection's documents that this run did not load, so it mirrors PATH (refused when a file failed to load).")
    var prune = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("Give at least one file or folder to ingest.") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1.") }
    }

    func run() async throws {
        let runtime = try CollectionsRuntime.open(config: config, db: db)
        do {
            try await ingest(runtime.gateway.collections)
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
    }

    private func ingest(_ service: CollectionService) async throws {
        if (try? service.describe(collection)) == nil {
            let info = try await CollectionsRuntime.report { try await service.createCollection(name: collection, embeddingModel: embeddingModel) }
            print("created collection '\(info.name)' (\(info.embeddingModel), \(info.dimension) dimensions)")
        }
        var files: [(file: URL, root: URL)] = []
        for path in paths {
            let root = URL(fileURLWithPath: path)
            files += try DocumentLoader.files(at: root).map { ($0, root) }
        }
        let options = DocumentLoader.Options(
            field: field, allowed: allowed.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
        let progress: TaskProgress? = quiet ? nil : TaskProgress("ingest", total: files.count, unit: "files")
        var totals = UpsertSummary()
        var documents = 0
        var words = 0
        var pending: [RetrievalDocument] = []
        var failures: [String] = []
        var seen: Set<String> = []
        var duplicates = 0
        let started = ContinuousClock.now
        func flush() async throws {
            guard !pending.isEmpty else { return }
            let summary = try await CollectionsRuntime.report { try await service.upsert(pending, into: collection, saveIndex: false) }
            totals.added += summary.added
            totals.updated += summary.updated
            totals.unchanged += summary.unchanged
            totals.chunks += summary.chunks
            totals.embeddingSeconds += summary.embeddingSeconds
            pending.removeAll()
        }
        for (index, (file, root)) in files.enumerated() {
            do {
                let loaded = try DocumentLoader.load(file, root: root, options: options)
                for document in loaded {
                    words += document.text.split(whereSeparator: { $0.isWhitespace }).count
                    // A repeated id (two records with one `_id`) replaces the earlier document, as an upsert would.
                    if !seen.insert(document.id).inserted {
                        duplicates += 1
                        pending.removeAll { $0.id == document.id }
                    }
                    pending.append(document)
                }
                documents += loaded.count
            } catch {
                failures.append("\(error)")
            }
            if pending.count >= batch { try await flush() }
            let pages = Double(words) / 500 / max(started.secondsElapsed, 0.001)
            progress?.update(done: index + 1, detail: String(format: "%d docs  %.1f pages/s", documents, pages))
        }
        try await flush()
        var removed = 0
        if prune {
            if failures.isEmpty {
                for id in try service.documentIDs(in: collection) where !seen.contains(id) {
                    if try service.deleteDocument(id, from: collection, saveIndex: false) { removed += 1 }
                }
            } else {
                print("not pruning: \(failures.count) file(s) failed to load, and their documents would have been deleted")
            }
        }
        try service.saveIndexes()
        progress?.finish()
        let seconds = max(started.secondsElapsed, 1e-9)
        let pages = Double(words) / 500
        print(
            String(
                format: "ingested %d files → %d documents (%d added, %d updated, %d unchanged), %d chunks in %.1f s: %.1f documents/s, %.1f pages/s (page = 500 words; %d words)",
                files.count, seen.count, totals.added, totals.updated, totals.unchanged, totals.chunks, seconds, Double(seen.count) / seconds,
                pages / seconds, words))
        if duplicates > 0 { print("\(duplicates) document(s) repeated an earlier id and replaced it") }
        if prune && failures.isEmpty { print("pruned \(removed) document(s) no longer under \(paths.joined(separator: ", "))") }
        if totals.chunks > 0 {
            print(
                String(
                    format: "  embedding (%@): %.1f s, %.0f chunks/s; loading, chunking, storing and indexing: %.1f s",
                    try service.describe(collection).embeddingModel, totals.embeddingSeconds, Double(totals.chunks) / max(totals.embeddingSeconds, 1e-9),
                    seconds - totals.embeddingSeconds))
        }
        for failure in failures { print("skipped: \(failure)") }
        if !failures.isEmpty && documents == 0 { throw ExitCode.failure }
    }
}

extension ContinuousClock.Instant {
    var secondsElapsed: Double {
        let elapsed = ContinuousClock.now - self
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
