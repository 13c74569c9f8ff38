import Foundation

/// A `multipart/form-data` body (RFC 7578), as `POST /v1/files` receives it. The whole body is
/// already in memory, capped by `server.max_body_bytes`; the parser bounds the number of parts and
/// the size of their headers, and answers a malformed body with a client error, never a trap.
public struct MultipartForm: Sendable {
    public struct Part: Sendable, Hashable {
        public var name: String
        public var filename: String?
        public var contentType: String?
        public var content: Data
    }

    public static let maxParts = 32
    public static let maxHeaderBytes = 8_192

    public var parts: [Part]

    /// The first part named `name`.
    public func part(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// The boundary of a `multipart/form-data; boundary=...` content type, or nil.
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            guard piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            // RFC 2046: 1 to 70 characters.
            guard (1...70).contains(value.utf8.count) else { return nil }
            return value
        }
        return nil
    }

    public init(parts: [Part]) { self.parts = parts }

    /// Parses `body` sent with `contentType`.
    public init(body: Data, contentType: String?) throws {
        guard let contentType, let boundary = Self.boundary(contentType: contentType) else {
            throw SwitchyardError.invalidRequest(
                "The body must be multipart/form-data with a boundary (send the file as a form field named 'file').")
        }
        let body = Data(body)  // indices from 0
        let delimiter = Data("--\(boundary)".utf8)
        let separator = Data("\r\n--\(boundary)".utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        guard let first = body.range(of: delimiter) else {
            throw SwitchyardError.invalidRequest("The multipart body has no part (its boundary never appears).")
        }
        var position = first.upperBound
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[position...].starts(with: Data("--".utf8)) { break }
            guard body[position...].starts(with: Data("\r\n".utf8)) else {
                throw SwitchyardError.invalidRequest("The multipart body is malformed (a boundary is not followed by a line break).")
            }
            position += 2
            guard parts.count < Self.maxParts else {
                throw SwitchyardError.invalidRequest("The multipart body has more than \(Self.maxParts) parts.")
            }
            let headerWindow = body[position..<min(body.endIndex, position + Self.maxHeaderBytes)]
            guard let headersEnd = headerWindow.range(of: headerEnd) else {
                throw SwitchyardError.invalidRequest("A multipart part's headers are missing, unterminated or longer than \(Self.maxHeaderBytes) bytes.")
            }
            let headerText = String(decoding: body[position..<headersEnd.lowerBound], as: UTF8.self)
            let contentStart = headersEnd.upperBound
            guard let next = body[contentStart...].range(of: separator) else {
                throw SwitchyardError.invalidRequest("The multipart body ends before its closing boundary.")
            }
            var part = Part(name: "", filename: nil, contentType: nil, content: Data(body[contentStart..<next.lowerBound]))
            for line in headerText.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name == "content-type" { part.contentType = value }
                if name == "content-disposition" {
                    part.name = Self.parameter("name", in: value) ?? ""
                    part.filename = Self.parameter("filename", in: value)
                }
            }
            parts.append(part)
            position = next.upperBound
        }
        self.parts = parts
    }

    /// A parameter of a `Content-Disposition` value (`name="file"`), unquoted.
    static func parameter(_ wanted: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<equals].lowercased() == wanted else { continue }
            var text = String(trimmed[trimmed.index(after: equals)...])
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
                text = String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            return text
        }
        return nil
    }
}
