import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, memory-mapped safetensors file.
///
/// The header is parsed once; tensor data stays in the mapping and F32 tensors are handed out as
/// pointers into it, so loading a model copies nothing.
public final class SafeTensorsFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only (PROT_READ) and never changes after init; it is unmapped
    // only in deinit, when no one can hold a reference any more.

    /// One tensor's entry in the header.
    public struct TensorInfo: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data section (after the header).
        public var dataOffsets: Range<Int>

        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let url: URL
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Maps `url` and parses its header.
    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw EmbeddingsError(.modelNotFound, "cannot open \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw EmbeddingsError(.io, "cannot stat \(url.path): \(String(cString: strerror(errno)))")
        }
        let length = Int(st.st_size)
        guard length >= 8 else {
            throw EmbeddingsError(.invalidModel, "\(url.path) is too short to be a safetensors file (\(length) bytes)")
        }
        guard let mapping = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw EmbeddingsError(.io, "cannot map \(url.path): \(String(cString: strerror(errno)))")
        }
        let base = UnsafeRawPointer(mapping)
        do {
            let parsed = try Self.parseHeader(base: base, length: length, path: url.path)
            self.tensors = parsed.tensors
            self.metadata = parsed.metadata
            self.dataStart = parsed.dataStart
        } catch {
            munmap(mapping, length)
            throw error
        }
        self.base = base
        self.mappedLength = length
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    /// Parses the 8-byte little-endian header length and the JSON header that follows it.
    static func parseHeader(
        base: UnsafeRawPointer, length: Int, path: String
    ) throws -> (tensors: [String: TensorInfo], metadata: [String: String], dataStart: Int) {
        let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= length - 8 else {
            throw EmbeddingsError(.invalidModel, "\(path): header length \(headerLength) does not fit in a file of \(length) bytes")
        }
        let headerData = Data(bytes: base + 8, count: headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw EmbeddingsError(.invalidModel, "\(path): the safetensors header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataLength = length - dataStart
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2
            else {
                throw EmbeddingsError(.invalidModel, "\(path): tensor '\(name)' has a malformed header entry")
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw EmbeddingsError(.invalidModel, "\(path): tensor '\(name)' data offsets \(offsets) lie outside the file")
            }
            let info = TensorInfo(dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1])
            if let size = Self.elementSize(dtype), info.elementCount * size != info.dataOffsets.count {
                throw EmbeddingsError(.invalidModel, "\(path): tensor '\(name)' shape \(shape) does not match its \(info.dataOffsets.count) bytes of \(dtype)")
            }
            tensors[name] = info
        }
        return (tensors, metadata, dataStart)
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": 8
        case "F32", "I32", "U32": 4
        case "F16", "BF16", "I16", "U16": 2
        case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": 1
        default: nil
        }
    }

    /// Raw bytes of a tensor inside the mapping.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = tensors[name] else {
            throw EmbeddingsError(.invalidModel, "\(url.path) has no tensor named '\(name)'")
        }
        return UnsafeRawBufferPointer(start: base + dataStart + info.dataOffsets.lowerBound, count: info.dataOffsets.count)
    }

    /// An F32 tensor of the expected shape, as a pointer into the mapping (or into an aligned copy
    /// when the file places it at an address that is not 4-byte aligned).
    public func float32(_ name: String, shape expected: [Int]) throws -> FloatTensor {
        guard let info = tensors[name] else {
            throw EmbeddingsError(.invalidModel, "\(url.path) has no tensor named '\(name)'")
        }
        guard info.dtype == "F32" else {
            throw EmbeddingsError(.invalidModel, "tensor '\(name)' is \(info.dtype); this engine reads F32 weights")
        }
        guard info.shape == expected else {
            throw EmbeddingsError(.invalidModel, "tensor '\(name)' has shape \(info.shape), expected \(expected)")
        }
        let bytes = try rawBytes(name)
        if let start = bytes.baseAddress, Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
            return FloatTensor(shape: expected, pointer: start.assumingMemoryBound(to: Float.self), owner: self)
        }
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: info.elementCount)
        UnsafeMutableRawPointer(copy).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        return FloatTensor(shape: expected, pointer: UnsafePointer(copy), owner: OwnedFloats(copy))
    }
}

/// Keeps an allocation alive for as long as a tensor refers to it.
final class OwnedFloats: @unchecked Sendable {
    // @unchecked: written once before publication, read-only afterwards.
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}

/// A read-only F32 tensor: a shape and a pointer, kept valid by `owner`.
public struct FloatTensor: @unchecked Sendable {
    // @unchecked: the pointed-to memory is immutable for the owner's lifetime.
    public let shape: [Int]
    public let pointer: UnsafePointer<Float>
    let owner: AnyObject

    public var count: Int { shape.reduce(1, *) }

    /// The values, copied out (the pointer is valid only while this tensor is alive).
    public func toArray() -> [Float] {
        withExtendedLifetime(owner) { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    }
}
