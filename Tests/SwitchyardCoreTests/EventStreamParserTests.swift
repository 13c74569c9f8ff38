import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Event stream parser (SSE and NDJSON)")
struct EventStreamParserTests {
    @Test func sseHandlesSplitLinesCommentsAndMultilineData() throws {
        var parser = EventStreamParser(format: .serverSentEvents)
        var events = try parser.feed(bytes: ": comment\r\nevent: message\r\ndata: {\"a\":".utf8)
        #expect(events.isEmpty)
        events = try parser.feed(bytes: "1}\r".utf8)
        #expect(events.isEmpty)
        events = try parser.feed(bytes: "\n\r\ndata: line one\ndata: line two\nid: 7\n\ndata:x\n".utf8)
        #expect(events.count == 2)
        #expect(events[0] == StreamMessage(event: "message", data: "{\"a\":1}"))
        #expect(events[1] == StreamMessage(event: nil, data: "line one\nline two", id: "7"))
        // An event the body never closed is still delivered at the end (upstreams that omit the last blank line).
        #expect(try parser.finish() == [StreamMessage(event: nil, data: "x", id: "7")])
    }

    @Test(arguments: [
        "event: a\ndata: {\"x\":1}\n\n: comment\r\ndata: line1\ndata: line2\r\n\r\ndata: [DONE]\n\n",
        "event: a\rdata: {\"x\":1}\r\r: comment\rdata: line1\rdata: line2\r\rdata: [DONE]\r\r",
        "event: a\r\ndata: {\"x\":1}\r\n\r\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]",
    ])
    func sseSurvivesEverySplit(text: String) throws {
        let bytes = Array(text.utf8)
        let expected = [
            StreamMessage(event: "a", data: #"{"x":1}"#), StreamMessage(event: nil, data: "line1\nline2"),
            StreamMessage(event: nil, data: "[DONE]"),
        ]
        for split in 0...bytes.count {
            var parser = EventStreamParser(format: .serverSentEvents)
            var messages = try parser.feed(bytes: bytes[..<split])
            messages += try parser.feed(bytes: bytes[split...])
            messages += try parser.finish()
            #expect(messages == expected, "split at \(split)")
        }
    }

    @Test func ndjsonSkipsBlankLinesAndKeepsTheLastUnterminatedOne() throws {
        var parser = EventStreamParser(format: .newlineDelimitedJSON)
        var lines = try parser.feed(bytes: "{\"a\":1}\n\n  \r\n{\"b\":".utf8)
        lines += try parser.feed(bytes: "2}".utf8)
        lines += try parser.finish()
        #expect(lines.map(\.data) == [#"{"a":1}"#, #"{"b":2}"#])
    }

    @Test func anEventOverTheCapThrowsInsteadOfGrowing() throws {
        var parser = EventStreamParser(format: .serverSentEvents, maximumEventBytes: 1024)
        // One line that never ends, fed in pieces: refused once the pieces pass the cap.
        #expect(throws: EventTooLargeError.self) {
            for _ in 0..<100 { _ = try parser.feed(bytes: Array(repeating: UInt8(ascii: "x"), count: 100)) }
        }
        // Many small data lines of one event add up too.
        var lines = EventStreamParser(format: .serverSentEvents, maximumEventBytes: 1024)
        #expect(throws: EventTooLargeError.self) {
            for _ in 0..<100 { _ = try lines.feed(bytes: "data: 0123456789abcdef\n".utf8) }
        }
        var ndjson = EventStreamParser(format: .newlineDelimitedJSON, maximumEventBytes: 16)
        #expect(throws: EventTooLargeError.self) { _ = try ndjson.feed(bytes: "{\"a\":\"0123456789abcdef\"}\n".utf8) }
        // Right under the cap is fine.
        var small = EventStreamParser(format: .serverSentEvents, maximumEventBytes: 1024)
        #expect(try small.feed(bytes: ("data: " + String(repeating: "y", count: 900) + "\n\n").utf8).count == 1)
    }

    @Test func invalidUTF8BecomesReplacementCharactersNotACrash() throws {
        var parser = EventStreamParser(format: .serverSentEvents)
        let events = try parser.feed(bytes: [0x64, 0x61, 0x74, 0x61, 0x3A, 0x20, 0xFF, 0xFE, 0xC3, 0x0A, 0x0A])
        #expect(events.count == 1 && events[0].data.unicodeScalars.allSatisfy { $0 == "\u{FFFD}" })
    }
}
