import Foundation
import Testing

@testable import Gateway

/// Request ids: the request log's primary key, so they must be unique and sort by time.
@Suite("Request ids")
struct RequestIDTests {
    @Test func idsSortByTimeAndDoNotRepeat() {
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        var ids: [String] = []
        for step in 0..<2_000 {
            ids.append(CallContext.newRequestID(now: start.addingTimeInterval(Double(step / 10) / 1000)))
        }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("req_") && $0.count == 28 && $0.dropFirst(4).allSatisfy(\.isHexDigit) })
        // Ids from later milliseconds sort after earlier ones (the same millisecond is in random order).
        for index in stride(from: 10, to: ids.count, by: 10) {
            #expect(ids[index] > ids[index - 1])
        }
        #expect(ids[0].dropFirst(4).prefix(12) == String(1_795_000_000_000, radix: 16).leftPadded(to: 12))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
