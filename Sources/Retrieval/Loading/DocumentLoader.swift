import Foundation
import SwitchyardCore
import Synchronization

/// A file that could not be loaded, with what to do about it.
public struct LoaderError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Turns files into documents: text, Markdown, HTML, JSON/JSONL (one field is the text), CSV (one
/// document per row), PDF (through `pdftotext`) and source code.
public enum DocumentLoader {
    public struct Options: Sendable {
        /// JSON/JSONL: the field holding the text (default `text`). CSV: the column holding it
        /// (default: the whole row as `column: value` lines).
        public var field: String?
        /// Groups every loaded document is restricted to.
        public var allowed: [String]?
        /// Extra metadata on every document.
        public var metadata: [String: JSONValue]

        public init(field: String? = nil, allowed: [String]? = nil, metadata: [String: JSONValue] = [:]) {
            self.field = field
            self.allowed = allowed
            self.metadata = metadata
        }
    }

    public enum Kind: String, Sendable {
        case text, markdown, html, json, jsonl, csv, pdf, code
    }

    static let codeExtensions: Set<String> = [
        "swift", "py", "js", "mjs", "ts", "tsx", "jsx", "go", "rs", "java", "kt", "c", "h", "cc", "cpp", "hpp", "m", "rb", "php",
        "cs", "scala", "sh", "bash", "sql", "lua", "r", "jl", "hs", "ex", "exs", "clj", "dart", "yaml", "yml", "toml",
    ]

    public static func kind(of url: URL) -> Kind? {
        switch url.pathExtension.lowercased() {
        case "txt", "text", "rst", "log": return .text
        case "md", "markdown", "mdx": return .markdown
        case "html", "htm", "xhtml": return .html
        case "json": return .json
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .csv
        case "tsv": return .csv
        case "pdf": return .pdf
        case let ext where codeExtensions.contains(ext): return .code
        default: return nil
        }
    }

    /// Files to load under `url` (itself if a file), skipping hidden entries and unknown types, sorted.
    public static func files(at url: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw LoaderError(path: url.path, message: "no such file or folder")
        }
        guard isDirectory.boolValue else {
            guard kind(of: url) != nil else {
                throw LoaderError(
                    path: url.path,
                    message: "unsupported file type '.\(url.pathExtension)'; supported: txt, md, html, json, jsonl, csv, tsv, pdf and source code")
            }
            return [url]
        }
        var found: [URL] = []
        let enumerator = FileManager.default.enumerator(
            at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles, .skipsPackageDescendants])
        while let next = enumerator?.nextObject() as? URL {
            guard (try? next.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true, kind(of: next) != nil else { continue }
            found.append(next)
        }
        return found.sorted { $0.path < $1.path }
    }

    /// The documents in one file. Ids are the path relative to `root` (plus `#row` / `#line` for
    /// CSV and JSONL records unless a record has its own `id`).
    public static func load(_ url: URL, root: URL? = nil, options: Options = Options()) throws -> [RetrievalDocument] {
        guard let kind = kind(of: url) else {
            throw LoaderError(path: url.path, message: "unsupported file type '.\(url.pathExtension)'")
        }
        let relative = relativePath(url, root: root)
        var documents: [RetrievalDocument]
        switch kind {
        case .pdf:
            documents = [RetrievalDocument(id: relative, text: try pdfText(url), title: url.deletingPathExtension().lastPathComponent, format: .plain)]
        default:
            let text = try read(url)
            documents = try parse(text, kind: kind, id: relative, name: url.deletingPathExtension().lastPathComponent, options: options, path: url.path)
        }
        for index in documents.indices {
            documents[index].source = documents[index].source ?? relative
            if let allowed = options.allowed { documents[index].allowed = allowed }
            for (key, value) in options.metadata where documents[index].metadata[key] == nil { documents[index].metadata[key] = value }
        }
        return documents.filter { !$0.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    /// Documents from text of a known kind (also what the HTTP API could use for raw uploads).
    public static func parse(_ text: String, kind: Kind, id: String, name: String, options: Options = Options(), path: String = "<text>")
        throws -> [RetrievalDocument]
    {
        switch kind {
        case .text:
            return [RetrievalDocument(id: id, text: text, title: name, format: .plain)]
        case .markdown:
            let title = text.split(separator: "\n").lazy.compactMap { RecursiveChunker.heading($0.trimmingCharacters(in: .whitespaces)) }
                .first { $0.level == 1 }?.title
            return [RetrievalDocument(id: id, text: text, title: title ?? name, format: .markdown)]
        case .html:
            return [RetrievalDocument(id: id, text: HTMLText.text(of: text), title: HTMLText.title(of: text) ?? name, format: .markdown)]
        case .code:
            return [RetrievalDocument(id: id, text: text, title: name, metadata: ["language": .string((path as NSString).pathExtension)], format: .code)]
        case .json:
            guard let value = JSONValue.parse(text) else { throw LoaderError(path: path, message: "not valid JSON") }
            let records = value.arrayValue ?? [value]
            return try records.enumerated().compactMap { index, record in
                try jsonDocument(record, id: "\(id)#\(index + 1)", field: options.field ?? "text", path: "\(path)[\(index)]")
            }
        case .jsonl:
            var documents: [RetrievalDocument] = []
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard let value = JSONValue.parse(trimmed) else {
                    throw LoaderError(path: "\(path):\(index + 1)", message: "not a JSON object on this line")
                }
                if let document = try jsonDocument(value, id: "\(id)#\(index + 1)", field: options.field ?? "text", path: "\(path):\(index + 1)") {
                    documents.append(document)
                }
            }
            return documents
        case .csv:
            let separator: Character = path.lowercased().hasSuffix(".tsv") ? "\t" : ","
            let rows = CSVParser.rows(text, separator: separator)
            guard let header = rows.first else { return [] }
            if let field = options.field, !header.contains(field) {
                throw LoaderError(path: path, message: "no column '\(field)' (columns: \(header.joined(separator: ", ")))")
            }
            return rows.dropFirst().enumerated().map { index, row in
                var metadata: [String: JSONValue] = [:]
                var lines: [String] = []
                var text = ""
                var rowID: String?
                var title: String?
                for (column, value) in zip(header, row) {
                    if column == options.field { text = value; continue }
                    if column == "id" { rowID = value }
                    if column == "title" { title = value }
                    metadata[column] = scalar(value)
                    if !value.isEmpty { lines.append("\(column): \(value)") }
                }
                if options.field == nil { text = lines.joined(separator: "\n") }
                return RetrievalDocument(
                    id: rowID.map { "\(id)#\($0)" } ?? "\(id)#row-\(index + 1)", text: text, title: title, metadata: metadata, format: .plain)
            }
        case .pdf:
            throw LoaderError(path: path, message: "PDF needs a file path")
        }
    }

    static func jsonDocument(_ value: JSONValue, id: String, field: String, path: String) throws -> RetrievalDocument? {
        guard let object = value.objectValue else { throw LoaderError(path: path, message: "each record must be a JSON object") }
        guard let text = object[field]?.stringValue else {
            throw LoaderError(
                path: path,
                message: "no string field '\(field)' (fields: \(object.keys.sorted().joined(separator: ", "))); choose one with --field")
        }
        var metadata: [String: JSONValue] = [:]
        for (key, value) in object where key != field && key != "id" && key != "_id" && key != "title" && key != "allowed" {
            switch value {
            case .string, .int, .double, .bool: metadata[key] = value
            case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): metadata[key] = value
            default: continue
            }
        }
        let recordID = object["id"].flatMap(idString) ?? object["_id"].flatMap(idString)
        return RetrievalDocument(
            id: recordID ?? id, text: text, title: object["title"]?.stringValue, metadata: metadata,
            allowed: object["allowed"]?.arrayValue?.compactMap(\.stringValue), format: .plain)
    }

    static func idString(_ value: JSONValue) -> String? {
        if let string = value.stringValue { return string }
        if let int = value.intValue { return String(int) }
        return nil
    }

    /// CSV cells: numbers as numbers (so range filters work), the rest as strings.
    static func scalar(_ value: String) -> JSONValue {
        if let int = Int64(value) { return .int(int) }
        if let double = Double(value), value.contains(".") { return .double(double) }
        return .string(value)
    }

    static func read(_ url: URL) throws -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw LoaderError(path: url.path, message: "cannot read the file")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func relativePath(_ url: URL, root: URL?) -> String {
        let path = url.standardizedFileURL.path
        guard let root else { return url.lastPathComponent }
        var base = root.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory), !isDirectory.boolValue {
            return url.lastPathComponent
        }
        if !base.hasSuffix("/") { base += "/" }
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : url.lastPathComponent
    }

    /// Text of a PDF through poppler's `pdftotext` (pages end with form feeds).
    static func pdfText(_ url: URL) throws -> String {
        guard let tool = executable("pdftotext") else {
            throw LoaderError(
                path: url.path,
                message: "PDF ingestion needs `pdftotext`, which is not installed. Install it with `apt-get install poppler-utils` (Debian/Ubuntu) or `brew install poppler` (macOS).")
        }
        // `ChildProcess`, not Foundation's `Process`, whose `run()` can crash the whole gateway (see there).
        let exited = DispatchSemaphore(value: 0)
        let exitStatus = Mutex<Int32>(0)
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                executable: tool.path, arguments: ["-enc", "UTF-8", url.path, "-"], environment: ProcessInfo.processInfo.environment,
                workingDirectory: nil
            ) { status in
                exitStatus.withLock { $0 = status }
                exited.signal()
            }
        } catch {
            throw LoaderError(path: url.path, message: "pdftotext could not be started: \(error)")
        }
        try? child.input.close()
        // stderr is drained beside stdout: a PDF that makes more than a pipe's worth (64 KiB) of warnings would
        // otherwise block pdftotext, and this read, for ever. Only its first 4 KiB are kept for the error.
        let message = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        PipeReader.start(child.errorOutput, name: "switchyard-pdftotext-err") { chunk in
            message.withLock { kept in if kept.count < 4096 { kept.append(chunk.prefix(4096 - kept.count)) } }
        } onEnd: {
            drained.signal()
        }
        let data = child.output.readDataToEndOfFile()
        drained.wait()
        exited.wait()
        guard exitStatus.withLock({ $0 }) == 0 else {
            throw LoaderError(path: url.path, message: "pdftotext failed: \(String(decoding: message.withLock { $0 }, as: UTF8.self).prefix(300))")
        }
        // Form feeds (page ends) become paragraph breaks.
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\u{0C}", with: "\n\n")
    }

    static func executable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
