import Foundation

/// The files a suite points at with `file://`: paths relative to the suite's folder, `*` globs in
/// the file name, and a size cap so a wrong path to a huge file fails fast instead of filling memory.
struct SuiteFiles: Sendable {
    let base: URL

    static let maximumBytes = 256 << 20

    static func read(_ url: URL, what: String) throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attributes?[.size] as? Int, size > maximumBytes {
            throw EvalSuiteError("\(url.path): \(what) is \(size >> 20) MB; the limit is \(maximumBytes >> 20) MB.")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw EvalSuiteError("\(url.path): cannot read \(what): it does not exist or is not readable.")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return text.replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// The files a reference names, sorted; a reference without `*` names one file (that must exist).
    func expand(_ reference: String, path: String) throws -> [URL] {
        let url = reference.hasPrefix("/") ? URL(fileURLWithPath: reference) : base.appendingPathComponent(reference)
        guard url.lastPathComponent.contains("*") else {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw EvalSuiteError("\(path): file://\(reference): no such file (\(url.path)).")
            }
            return [url]
        }
        let folder = url.deletingLastPathComponent()
        let pattern = url.lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let matches = names.filter { Self.matches($0, pattern: pattern) }.sorted().map { folder.appendingPathComponent($0) }
        guard !matches.isEmpty else { throw EvalSuiteError("\(path): file://\(reference) matches no file in \(folder.path).") }
        return matches
    }

    /// `*` matches any run of characters; everything else matches itself.
    static func matches(_ name: String, pattern: String) -> Bool {
        let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count > 1 else { return name == pattern }
        guard name.hasPrefix(pieces[0]) else { return false }
        var rest = Substring(name.dropFirst(pieces[0].count))
        for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
            guard let found = rest.range(of: piece) else { return false }
            rest = rest[found.upperBound...]
        }
        return rest.hasSuffix(pieces.last!) && rest.count >= pieces.last!.count
    }
}
