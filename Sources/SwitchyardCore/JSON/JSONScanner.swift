import Foundation

/// A validating, allocation-light scan of a JSON document's top-level object: where each member's
/// key and value lie, without building values. The fast path reads a request's or an answer's few
/// fields with it and edits the bytes in place instead of decoding and re-encoding the whole body.
///
/// Strict: the document must be one object (whitespace around it allowed), with RFC 8259 strings
/// (escapes checked, no raw control characters), numbers, literals and nesting up to `maxDepth`.
/// Anything else, or a duplicate top-level key, is nil — the caller then takes its full path.
public enum JSONScanner {
    public struct Member: Sendable, Hashable {
        /// The key's bytes between its quotes, escapes left as they are.
        public var key: Range<Int>
        /// The value's bytes, from its first to its last byte.
        public var value: Range<Int>
    }

    public static let maxDepth = 128

    /// The top-level members of `bytes`, or nil when it is not one valid JSON object or repeats a key.
    public static func members(_ bytes: UnsafeRawBufferPointer) -> (members: [Member], closingBrace: Int)? {
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else { return nil }
        scanner.index += 1
        var members: [Member] = []
        members.reserveCapacity(12)
        var seen = Set<[UInt8]>()
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            let closing = scanner.index
            scanner.index += 1
            scanner.skipWhitespace()
            return scanner.atEnd ? ([], closing) : nil
        }
        while true {
            scanner.skipWhitespace()
            guard let key = scanner.string() else { return nil }
            scanner.skipWhitespace()
            guard scanner.peek() == UInt8(ascii: ":") else { return nil }
            scanner.index += 1
            scanner.skipWhitespace()
            let start = scanner.index
            guard scanner.value(depth: 1) else { return nil }
            let member = Member(key: key, value: start..<scanner.index)
            // Duplicates: a linear look among a chat body's dozen keys, a set past that (a hostile body of a
            // million keys must not cost a million squared comparisons).
            if members.count < 32 {
                for other in members where other.key.count == key.count && equal(bytes, other.key, key) { return nil }
            } else {
                if seen.isEmpty { for other in members { seen.insert(Array(bytes[other.key])) } }
                guard seen.insert(Array(bytes[key])).inserted else { return nil }
            }
            members.append(member)
            scanner.skipWhitespace()
            switch scanner.peek() {
            case UInt8(ascii: ","):
                scanner.index += 1
            case UInt8(ascii: "}"):
                let closing = scanner.index
                scanner.index += 1
                scanner.skipWhitespace()
                return scanner.atEnd ? (members, closing) : nil
            default:
                return nil
            }
        }
    }

    /// The elements of a JSON array (each value's first to last byte), or nil when `bytes` is not one
    /// valid array. Nested values are checked to `maxDepth`, as members' are.
    public static func elements(_ bytes: UnsafeRawBufferPointer) -> [Range<Int>]? {
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "[") else { return nil }
        scanner.index += 1
        var elements: [Range<Int>] = []
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "]") {
            scanner.index += 1
            scanner.skipWhitespace()
            return scanner.atEnd ? [] : nil
        }
        while true {
            scanner.skipWhitespace()
            let start = scanner.index
            guard scanner.value(depth: 1) else { return nil }
            elements.append(start..<scanner.index)
            scanner.skipWhitespace()
            switch scanner.peek() {
            case UInt8(ascii: ","):
                scanner.index += 1
            case UInt8(ascii: "]"):
                scanner.index += 1
                scanner.skipWhitespace()
                return scanner.atEnd ? elements : nil
            default:
                return nil
            }
        }
    }

    /// The member whose key is exactly `name` (no escapes in it).
    public static func member(_ name: StaticString, in members: [Member], of bytes: UnsafeRawBufferPointer) -> Member? {
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return members.first { member in
            member.key.count == wanted.count && memcmp(bytes.baseAddress! + member.key.lowerBound, wanted.baseAddress!, wanted.count) == 0
        }
    }

    /// A non-negative integer value that fits an `Int` (no fraction, no exponent); nil otherwise.
    public static func integer(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for index in range {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        memcmp(bytes.baseAddress! + a.lowerBound, bytes.baseAddress! + b.lowerBound, a.count) == 0
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        /// A string; returns the range between its quotes.
        mutating func string() -> Range<Int>? {
            guard peek() == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    let range = start..<index
                    index += 1
                    return range
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { return nil }
                    switch bytes[index] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        guard index + 4 < bytes.count else { return nil }
                        for offset in 1...4 where !Self.isHex(bytes[index + offset]) { return nil }
                        index += 5
                    default:
                        return nil
                    }
                case 0x00..<0x20:
                    return nil
                case 0x20..<0x80:
                    index += 1
                default:
                    // RFC 8259 text is UTF-8: a string with an invalid sequence is not vouched for (the caller's
                    // decoder then decides what to make of it).
                    guard let length = Self.utf8SequenceLength(bytes, at: index) else { return nil }
                    index += length
                }
            }
            return nil
        }

        /// The length of the well-formed UTF-8 sequence (Unicode Table 3-7) starting with a byte ≥ 0x80 at
        /// `index`; nil for a stray continuation byte, an overlong form, a surrogate, a value past U+10FFFF or
        /// a cut sequence.
        static func utf8SequenceLength(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
            let lead = bytes[index]
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: (length, low) = (3, 0xA0)
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: (length, high) = (3, 0x9F)
            case 0xF0: (length, low) = (4, 0x90)
            case 0xF1...0xF3: length = 4
            case 0xF4: (length, high) = (4, 0x8F)
            default: return nil
            }
            guard index + length <= bytes.count else { return nil }
            let second = bytes[index + 1]
            guard second >= low, second <= high else { return nil }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return nil }
            return length
        }

        static func isHex(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
        }

        mutating func value(depth: Int) -> Bool {
            guard depth <= JSONScanner.maxDepth, let byte = peek() else { return false }
            switch byte {
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "{"):
                index += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "}") {
                    index += 1
                    return true
                }
                while true {
                    skipWhitespace()
                    guard string() != nil else { return false }
                    skipWhitespace()
                    guard peek() == UInt8(ascii: ":") else { return false }
                    index += 1
                    skipWhitespace()
                    guard value(depth: depth + 1) else { return false }
                    skipWhitespace()
                    switch peek() {
                    case UInt8(ascii: ","): index += 1
                    case UInt8(ascii: "}"):
                        index += 1
                        return true
                    default: return false
                    }
                }
            case UInt8(ascii: "["):
                index += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                    return true
                }
                while true {
                    skipWhitespace()
                    guard value(depth: depth + 1) else { return false }
                    skipWhitespace()
                    switch peek() {
                    case UInt8(ascii: ","): index += 1
                    case UInt8(ascii: "]"):
                        index += 1
                        return true
                    default: return false
                    }
                }
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default:
                return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count, memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else { return false }
            index += count
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() -> Bool {
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard let first = peek(), Self.isDigit(first) else { return false }
            index += 1
            if first != UInt8(ascii: "0") { while let byte = peek(), Self.isDigit(byte) { index += 1 } }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard let byte = peek(), Self.isDigit(byte) else { return false }
                while let byte = peek(), Self.isDigit(byte) { index += 1 }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard let byte = peek(), Self.isDigit(byte) else { return false }
                while let byte = peek(), Self.isDigit(byte) { index += 1 }
            }
            return true
        }

        static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }
}
