import Foundation
import SwitchyardCore
import Testing

@testable import Retrieval

@Suite("Document loaders")
struct LoaderTests {
    @Test func htmlKeepsTheArticleAndDropsThePageFurniture() {
        let html = """
            <!doctype html><html><head><title>Release &amp; Notes</title><style>body { color: red }</style>
            <script>var tracking = "SECRET_SCRIPT";</script></head>
            <body><header><a href="/">Home</a> MENU_HEADER</header>
            <nav><ul><li>NAV_LINK</li></ul></nav>
            <main><h1>Version 2</h1><p>Faster&nbsp;search &lt;now&gt;.</p>
            <h2>Fixes</h2><ul><li>One</li><li>Two</li></ul><!-- a COMMENT --></main>
            <aside>SIDEBAR</aside><footer>FOOTER_TEXT &copy; 2024</footer></body></html>
            """
        let text = HTMLText.text(of: html)
        #expect(HTMLText.title(of: html) == "Release & Notes")
        for dropped in ["SECRET_SCRIPT", "color: red", "MENU_HEADER", "NAV_LINK", "SIDEBAR", "FOOTER_TEXT", "COMMENT"] {
            #expect(!text.contains(dropped), "\(dropped) should be dropped: \(text)")
        }
        #expect(text.contains("# Version 2"))
        #expect(text.contains("Faster search <now>."))
        #expect(text.contains("## Fixes"))
        #expect(text.contains("- One\n- Two"))
        // Headings survive as Markdown, so chunks keep their heading path.
        let chunks = RecursiveChunker(count: wordCount).chunks(of: text, format: .markdown)
        #expect(chunks.last?.headingPath == ["Version 2", "Fixes"])
    }

    @Test func csvRowsBecomeDocumentsWithTypedMetadata() throws {
        let csv = "id,title,year,body\r\n7,\"Hello, world\",2021,\"Line one\nline \"\"two\"\"\"\n8,Second,2019,Plain\n"
        let documents = try DocumentLoader.parse(csv, kind: .csv, id: "data.csv", name: "data", options: .init(field: "body"))
        #expect(documents.count == 2)
        #expect(documents[0].id == "data.csv#7")
        #expect(documents[0].title == "Hello, world")
        #expect(documents[0].text == "Line one\nline \"two\"")
        #expect(documents[0].metadata["year"] == .int(2021))
        #expect(documents[1].text == "Plain")
        // Without --field the whole row is the text.
        let rows = try DocumentLoader.parse(csv, kind: .csv, id: "data.csv", name: "data")
        #expect(rows[1].text == "id: 8\ntitle: Second\nyear: 2019\nbody: Plain")
        #expect(throws: LoaderError.self) { try DocumentLoader.parse(csv, kind: .csv, id: "d", name: "d", options: .init(field: "nope")) }
    }

    @Test func jsonlUsesTheChosenFieldAndKeepsScalarsAsMetadata() throws {
        let jsonl = """
            {"_id": "p1", "passage": "Paris is in France.", "lang": "en", "year": 2020, "nested": {"x": 1}}

            {"passage": "Berlin ist in Deutschland.", "lang": "de", "allowed": ["eu"]}
            """
        let documents = try DocumentLoader.parse(jsonl, kind: .jsonl, id: "c.jsonl", name: "c", options: .init(field: "passage"))
        #expect(documents.map(\.id) == ["p1", "c.jsonl#3"])
        #expect(documents[0].text == "Paris is in France.")
        #expect(documents[0].metadata == ["lang": "en", "year": 2020])
        #expect(documents[1].allowed == ["eu"])
        let error = #expect(throws: LoaderError.self) {
            try DocumentLoader.parse(jsonl, kind: .jsonl, id: "c.jsonl", name: "c", options: .init(field: "body"))
        }
        #expect(error?.message.contains("'body'") == true)
        #expect(error?.message.contains("--field") == true)
    }

    @Test func foldersLoadKnownTypesWithRelativeIds() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loader-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("guide"), withIntermediateDirectories: true)
        try "# Intro\nHello.".write(to: root.appendingPathComponent("guide/intro.md"), atomically: true, encoding: .utf8)
        try "<html><body><p>Page</p></body></html>".write(to: root.appendingPathComponent("page.html"), atomically: true, encoding: .utf8)
        try "func main() {}\n".write(to: root.appendingPathComponent("main.swift"), atomically: true, encoding: .utf8)
        try "binary".write(to: root.appendingPathComponent("image.png"), atomically: true, encoding: .utf8)
        try "hidden".write(to: root.appendingPathComponent(".secret.md"), atomically: true, encoding: .utf8)
        let files = try DocumentLoader.files(at: root)
        #expect(files.map(\.lastPathComponent) == ["intro.md", "main.swift", "page.html"])
        let documents = try files.flatMap { try DocumentLoader.load($0, root: root, options: .init(allowed: ["team"])) }
        #expect(documents.map(\.id) == ["guide/intro.md", "main.swift", "page.html"])
        #expect(documents[0].title == "Intro")
        #expect(documents[1].format == .code)
        #expect(documents.allSatisfy { $0.allowed == ["team"] && $0.source == $0.id })
    }

    @Test func pdfTextComesFromPdftotextOrTheMessageSaysWhatToInstall() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("doc-\(UUID().uuidString).pdf")
        try Self.twoPagePDF(["Hello PDF world.", "Second page text."]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        if DocumentLoader.executable("pdftotext") == nil {
            let error = #expect(throws: LoaderError.self) { try DocumentLoader.load(file) }
            #expect(error?.message.contains("poppler-utils") == true)
            return
        }
        let documents = try DocumentLoader.load(file)
        #expect(documents.count == 1)
        let text = try #require(documents.first?.text)
        #expect(text.contains("Hello PDF world."))
        #expect(text.contains("Second page text."))
        #expect(!text.contains("\u{0C}"))  // page breaks became paragraph breaks
        // A broken PDF is reported as pdftotext's failure, not a crash.
        try Data("%PDF-1.4\n".utf8).write(to: file)
        #expect(throws: LoaderError.self) { try DocumentLoader.load(file) }
    }

    /// A minimal valid PDF (Helvetica, one line of text per page) with a correct xref table.
    static func twoPagePDF(_ lines: [String]) -> Data {
        var objects: [String] = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [\(lines.indices.map { "\(3 + 2 * $0) 0 R" }.joined(separator: " "))] /Count \(lines.count) >>",
        ]
        let font = 3 + 2 * lines.count
        for (index, line) in lines.enumerated() {
            let stream = "BT /F1 24 Tf 72 700 Td (\(line)) Tj ET"
            objects.append(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents \(4 + 2 * index) 0 R /Resources << /Font << /F1 \(font) 0 R >> >> >>")
            objects.append("<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream")
        }
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        var pdf = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(pdf.utf8.count)
            pdf += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = pdf.utf8.count
        pdf += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets {
            let digits = String(offset)
            pdf += String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n"
        }
        pdf += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(pdf.utf8)
    }
}
