import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Batch input files and multipart uploads")
struct BatchInputTests {
    static let chat = "/v1/chat/completions"

    func line(_ id: String, url: String = chat, method: String = "POST", body: String = #"{"model":"m","messages":[]}"#) -> String {
        #"{"custom_id":"\#(id)","method":"\#(method)","url":"\#(url)","body":\#(body)}"#
    }

    func problems(_ text: String, endpoint: String = chat) -> [BatchInput.Problem] {
        if case .invalid(let problems) = BatchInput.parseOpenAI(Data(text.utf8), endpoint: endpoint) { return problems }
        return []
    }

    @Test("a good file gives its requests in order; blank lines and CRLF are fine")
    func goodFile() throws {
        let text = [line("a"), "", line("b"), "   "].joined(separator: "\r\n") + "\n"
        guard case .requests(let requests) = BatchInput.parseOpenAI(Data(text.utf8), endpoint: Self.chat) else {
            Issue.record("the file was refused")
            return
        }
        #expect(requests.map(\.customID) == ["a", "b"])
        #expect(requests[0].body["model"] == "m")
    }

    @Test("every bad line is reported with its 1-based number, code and param")
    func badLines() {
        let text = [
            line("ok"), "not json", #"{"method":"POST","url":"/v1/chat/completions","body":{}}"#, line("ok"),
            line("m", method: "GET"), line("u", url: "/v1/embeddings"), line("b", body: "[1]"), "[]",
        ].joined(separator: "\n")
        let found = problems(text)
        #expect(found.map(\.line) == [2, 3, 4, 5, 6, 7, 8])
        #expect(found.map(\.code) == [
            "invalid_json_line", "missing_required_parameter", "duplicate_custom_id", "invalid_method", "mismatched_endpoint",
            "invalid_request", "invalid_json_line",
        ])
        #expect(found[1].param == "custom_id" && found[4].param == "url" && found[5].param == "body")
        #expect(found[2].json["line"] == 4)
    }

    @Test("an empty file, an overlong custom_id and too many lines are refused")
    func limits() {
        #expect(problems("\n\n").map(\.code) == ["empty_file"])
        #expect(problems(line(String(repeating: "x", count: 513))).map(\.code) == ["invalid_custom_id"])
        let many = (0...BatchInput.maxRequests).map { line("id\($0)") }.joined(separator: "\n")
        let found = problems(many)
        #expect(found.map(\.code) == ["too_many_requests"])
        #expect(found.first?.line == BatchInput.maxRequests + 1)
    }

    @Test("problems are capped, so a file of garbage gives a bounded answer")
    func cappedProblems() {
        let garbage = Array(repeating: "{", count: 5_000).joined(separator: "\n")
        #expect(problems(garbage).count == BatchInput.maxReportedErrors)
    }

    @Test("Anthropic requests: custom_id rule, duplicates, params, streaming, emptiness", arguments: [
        (#"{"requests": []}"#, "requests"),
        (#"{"requests": {}}"#, "requests"),
        (#"{"requests": [{"custom_id": "a b", "params": {}}]}"#, "requests[0].custom_id"),
        (#"{"requests": [{"custom_id": "a", "params": {}}, {"custom_id": "a", "params": {}}]}"#, "requests[1].custom_id"),
        (#"{"requests": [{"custom_id": "a", "params": 3}]}"#, "requests[0].params"),
        (#"{"requests": [{"custom_id": "a", "params": {"stream": true}}]}"#, "requests[0].params.stream"),
        (#"{"requests": [{"custom_id": "\#(String(repeating: "x", count: 65))", "params": {}}]}"#, "requests[0].custom_id"),
    ])
    func anthropicErrors(body: String, param: String) throws {
        let value = try #require(JSONValue.parse(body))
        do {
            _ = try BatchInput.parseAnthropic(value)
            Issue.record("\(body) was accepted")
        } catch let error as SwitchyardError {
            #expect(error.param == param && error.status == 400)
        }
    }

    @Test("Anthropic requests parse in order")
    func anthropicGood() throws {
        let value = try #require(JSONValue.parse(#"{"requests": [{"custom_id": "r-1", "params": {"model": "m"}}, {"custom_id": "R_2", "params": {}}]}"#))
        let requests = try BatchInput.parseAnthropic(value)
        #expect(requests.map(\.customID) == ["r-1", "R_2"])
        #expect(requests[0].body["model"] == "m")
    }

    // MARK: Multipart

    func multipart(boundary: String = "XyZ", parts: [(String, String?, String)], close: Bool = true) -> Data {
        var text = ""
        for (name, filename, content) in parts {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\""
            if let filename { text += "; filename=\"\(filename)\"\r\nContent-Type: application/jsonl" }
            text += "\r\n\r\n\(content)\r\n"
        }
        if close { text += "--\(boundary)--\r\n" }
        return Data(text.utf8)
    }

    @Test("a form with a file and a purpose, as the openai SDK sends it")
    func multipartGood() throws {
        let body = multipart(parts: [("purpose", nil, "batch"), ("file", "in.jsonl", "line1\nline2\n")])
        let form = try MultipartForm(body: body, contentType: "multipart/form-data; boundary=XyZ")
        #expect(form.part("purpose")?.content == Data("batch".utf8))
        #expect(form.part("file")?.filename == "in.jsonl")
        #expect(form.part("file")?.content == Data("line1\nline2\n".utf8))
        let quoted = try MultipartForm(body: body, contentType: "multipart/form-data; boundary=\"XyZ\"")
        #expect(quoted.parts.count == 2)
    }

    @Test("malformed forms are client errors", arguments: [
        ("application/json", true),
        ("multipart/form-data", true),
        ("multipart/form-data; boundary=\(String(repeating: "b", count: 71))", true),
        ("multipart/form-data; boundary=other", true),
        ("multipart/form-data; boundary=XyZ", false),
    ])
    func multipartBad(contentType: String, closed: Bool) {
        let body = multipart(parts: [("file", "f", "x")], close: closed)
        #expect(throws: SwitchyardError.self) { try MultipartForm(body: closed ? body : Data(body.prefix(body.count - 2)), contentType: contentType) }
    }

    @Test("too many parts are refused")
    func tooManyParts() {
        let body = multipart(parts: (0...MultipartForm.maxParts).map { ("p\($0)", nil, "v") })
        #expect(throws: SwitchyardError.self) { try MultipartForm(body: body, contentType: "multipart/form-data; boundary=XyZ") }
    }

    @Test("mutated forms and input files never trap (bounded fuzz)")
    func fuzz() {
        var generator = SeededRandom(seed: 19)
        let form = multipart(parts: [("purpose", nil, "batch"), ("file", "in.jsonl", line("a") + "\n" + line("b"))])
        for _ in 0..<3_000 {
            var bytes = [UInt8](form)
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: position)
                default: bytes.insert(contentsOf: [0x0D, 0x0A, 0x2D, 0x2D], at: position)
                }
                if bytes.isEmpty { bytes = [0] }
            }
            if let parsed = try? MultipartForm(body: Data(bytes), contentType: "multipart/form-data; boundary=XyZ") {
                #expect(parsed.parts.count <= MultipartForm.maxParts)
                for part in parsed.parts { _ = BatchInput.parseOpenAI(part.content, endpoint: Self.chat) }
            }
            _ = BatchInput.parseOpenAI(Data(bytes), endpoint: Self.chat)
        }
    }
}

/// A small deterministic generator (SplitMix64) so the fuzz run is the same every time.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
