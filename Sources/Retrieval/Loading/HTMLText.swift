import Foundation

/// Readable text from HTML: headings become Markdown headings (so the chunker keeps the
/// structure), blocks become paragraphs, list items lines; scripts, styles and page furniture
/// (nav, header, footer, aside, forms) are dropped. Not a full HTML parser, and does not need to be.
public enum HTMLText {
    static let dropped: Set<String> = [
        "script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg", "form", "iframe", "button",
        "select", "head",
    ]
    static let blocks: Set<String> = [
        "p", "div", "section", "article", "main", "table", "tr", "ul", "ol", "dl", "blockquote", "pre", "figure",
        "figcaption", "details", "summary", "dt", "dd", "hr", "body",
    ]

    /// The `<title>`, if any.
    public static func title(of html: String) -> String? {
        guard let open = html.range(of: "<title", options: .caseInsensitive),
            let close = html.range(of: ">", range: open.upperBound..<html.endIndex),
            let end = html.range(of: "</title>", options: .caseInsensitive, range: close.upperBound..<html.endIndex)
        else { return nil }
        let title = decodeEntities(String(html[close.upperBound..<end.lowerBound])).trimmingCharacters(in: .whitespacesAndNewlines)
        return title.isEmpty ? nil : title
    }

    public static func text(of html: String) -> String {
        var output = ""
        var skipping: [String] = []  // stack of dropped elements we are inside
        var index = html.startIndex
        var preformatted = 0
        func newline(_ count: Int) {
            var trailing = 0
            for character in output.reversed() {
                if character == "\n" { trailing += 1 } else if character == " " { continue } else { break }
            }
            if output.isEmpty { return }
            while trailing < count {
                output += "\n"
                trailing += 1
            }
        }
        while index < html.endIndex {
            if html[index] == "<" {
                // Comments and doctypes.
                if html[index...].hasPrefix("<!--") {
                    index = html.range(of: "-->", range: index..<html.endIndex)?.upperBound ?? html.endIndex
                    continue
                }
                guard let close = html[index...].firstIndex(of: ">") else { break }
                let tag = html[html.index(after: index)..<close]
                index = html.index(after: close)
                let isEnd = tag.hasPrefix("/")
                let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
                let selfClosing = tag.hasSuffix("/")
                if name.isEmpty { continue }
                if dropped.contains(name) {
                    if isEnd {
                        if let last = skipping.lastIndex(of: name) { skipping.removeSubrange(last...) }
                    } else if !selfClosing {
                        skipping.append(name)
                    }
                    continue
                }
                if !skipping.isEmpty { continue }
                if name.count == 2, name.first == "h", let level = Int(String(name.last!)), (1...6).contains(level) {
                    newline(2)
                    if !isEnd { output += String(repeating: "#", count: level) + " " }
                    continue
                }
                switch name {
                case "br": newline(1)
                case "li": if !isEnd { newline(1); output += "- " }
                case "td", "th": if !isEnd { output += " " }
                case "pre":
                    preformatted += isEnd ? -1 : 1
                    newline(2)
                default:
                    if blocks.contains(name) { newline(2) }
                }
                continue
            }
            let next = html[index...].firstIndex(of: "<") ?? html.endIndex
            if skipping.isEmpty {
                let raw = decodeEntities(String(html[index..<next]))
                if preformatted > 0 {
                    output += raw
                } else {
                    let collapsed = raw.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
                    if !collapsed.isEmpty {
                        if let first = raw.first, first.isWhitespace, let last = output.last, !last.isWhitespace { output += " " }
                        output += collapsed
                        if let last = raw.last, last.isWhitespace { output += " " }
                    }
                }
            }
            index = next
        }
        // Tidy: trim lines, at most one blank line in a row.
        var lines: [String] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = preformatted > 0 ? String(line) : line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty, lines.last?.isEmpty ?? true { continue }
            lines.append(trimmed)
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "mdash": "—", "ndash": "–", "hellip": "…",
        "copy": "©", "reg": "®", "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“",
    ]

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            guard text[index] == "&", let semicolon = text[index...].prefix(12).firstIndex(of: ";") else {
                output.append(text[index])
                index = text.index(after: index)
                continue
            }
            let name = text[text.index(after: index)..<semicolon]
            var replacement: String?
            if name.hasPrefix("#x") || name.hasPrefix("#X"), let code = UInt32(name.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                replacement = String(Character(scalar))
            } else if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                replacement = String(Character(scalar))
            } else {
                replacement = entities[String(name)]
            }
            if let replacement {
                output += replacement
                index = text.index(after: semicolon)
            } else {
                output.append(text[index])
                index = text.index(after: index)
            }
        }
        return output
    }
}
