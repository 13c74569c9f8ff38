import Foundation
import Testing
@testable import Embeddings

@Suite("safetensors reader")
struct SafeTensorsTests {
    /// Writes a safetensors file with the given header JSON and data bytes.
    static func write(header: String, data: [UInt8], padTo alignment: Int = 8) throws -> URL {
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % alignment != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { bytes += $0 }
        bytes += headerBytes + data
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-\(UUID().uuidString).safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    @Test("parses the header and maps F32 tensors in place")
    func readsTensors() throws {
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [-0.5, 0.25]
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},"ids":{"dtype":"I64","shape":[1],"data_offsets":[32,40]}}"#
        let url = try Self.write(header: header, data: Self.floatBytes(a) + Self.floatBytes(b) + Array(repeating: 0, count: 8))
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try SafeTensorsFile(url: url)
        #expect(file.metadata["format"] == "pt")
        #expect(file.tensors.count == 3)
        #expect(file.tensors["ids"]?.dtype == "I64")
        let tensorA = try file.float32("a", shape: [2, 3])
        #expect(Array(tensorA.toArray()) == a)
        #expect(try file.float32("b", shape: [2]).toArray() == b)
        #expect(throws: EmbeddingsError.self) { try file.float32("a", shape: [3, 2]) }
        #expect(throws: EmbeddingsError.self) { try file.float32("ids", shape: [1]) }
        #expect(throws: EmbeddingsError.self) { try file.float32("missing", shape: [1]) }
    }

    @Test("a tensor at an unaligned offset is still read correctly")
    func unalignedTensor() throws {
        let header = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let url = try Self.write(header: header, data: Self.floatBytes([7, 8]), padTo: 1)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try SafeTensorsFile(url: url).float32("x", shape: [2]).toArray() == [7, 8])
    }

    @Test("rejects malformed files", arguments: [
        #"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}"#,
        #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#,
        #"{"x":{"dtype":"F32","shape":[2]}}"#,
        #"[1,2,3]"#,
    ])
    func rejectsMalformed(header: String) throws {
        let url = try Self.write(header: header, data: Self.floatBytes([1, 2]))
        defer { try? FileManager.default.removeItem(at: url) }
        let error = try #require(throws: EmbeddingsError.self) { try SafeTensorsFile(url: url) }
        #expect(error.code == .invalidModel)
    }

    @Test("a header length beyond the file is an error, not a crash")
    func truncatedFile() throws {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(1_000_000).littleEndian) { bytes += $0 }
        bytes += Array("{}".utf8)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-\(UUID().uuidString).safetensors")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: EmbeddingsError.self) { try SafeTensorsFile(url: url) }
        #expect(throws: EmbeddingsError.self) { try SafeTensorsFile(url: url.appendingPathExtension("missing")) }
    }
}
