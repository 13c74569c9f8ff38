import Foundation

/// Little-endian binary writing and reading for the index files (every supported CPU is little-endian,
/// so sections of floats and integers are written and mapped as they lie in memory).
struct IndexFileWriter {
    private(set) var data = Data()

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func append(_ value: Float) { append(value.bitPattern) }

    mutating func append(magic: String) {
        precondition(magic.utf8.count == 8)
        data.append(contentsOf: Array(magic.utf8))
    }

    mutating func append(raw pointer: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        data.append(pointer.assumingMemoryBound(to: UInt8.self), count: count)
    }

    mutating func append<T>(contentsOf array: [T]) {
        array.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    mutating func append(string: String) {
        let bytes = Array(string.utf8)
        append(UInt32(bytes.count))
        data.append(contentsOf: bytes)
    }

    /// Pads with zeros so the next section starts on a 64-byte boundary (SIMD loads, cache lines).
    mutating func align(to boundary: Int = 64) {
        let remainder = data.count % boundary
        if remainder != 0 { data.append(contentsOf: [UInt8](repeating: 0, count: boundary - remainder)) }
    }

    /// Writes to a temporary file beside `url`, then renames it over `url`, so readers see the old
    /// file or the new one, never half of one.
    func write(to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                let code = errno
                try? FileManager.default.removeItem(at: temporary)
                throw SearchIndexError(.io, "cannot rename the index file into place at \(url.path): \(String(cString: strerror(code)))")
            }
        } catch let error as SearchIndexError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SearchIndexError(.io, "cannot write the index file \(url.path): \(error.localizedDescription)")
        }
    }
}

/// Reads a byte buffer front to back, failing with `corruptFile` instead of reading past its end.
struct IndexFileReader {
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0
    let path: String

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    /// Reads the whole file at `url` and hands `body` a reader past its magic, which must be `magic`
    /// (`kind` names the format in the error). For formats loaded by copying; HNSW maps its file instead.
    static func withContents<Result>(
        of url: URL, magic: String, kind: String, _ body: (inout IndexFileReader) throws -> Result
    ) throws -> Result {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SearchIndexError(.io, "cannot read the index file \(url.path): \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { throw SearchIndexError(.corruptFile, "the index file \(url.path) is empty; rebuild the index") }
            var reader = IndexFileReader(base: base, size: raw.count, path: url.path)
            guard try reader.readMagic() == magic else { throw SearchIndexError(.unsupportedFile, "\(url.path) is not \(kind)") }
            return try body(&reader)
        }
    }

    func corrupt(_ what: String) -> SearchIndexError {
        SearchIndexError(.corruptFile, "the index file \(path) is damaged or truncated (\(what)); rebuild the index")
    }

    mutating func require(_ count: Int, _ what: String) throws {
        guard count >= 0, offset + count <= size else { throw corrupt(what) }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String = "header") throws -> T {
        try require(MemoryLayout<T>.size, what)
        let value = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: String = "header") throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    mutating func readMagic() throws -> String {
        try require(8, "magic")
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: 8)
        offset += 8
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func readString(_ what: String) throws -> String {
        let length = Int(try read(UInt32.self, what))
        try require(length, what)
        let string = String(decoding: UnsafeRawBufferPointer(start: base + offset, count: length), as: UTF8.self)
        offset += length
        return string
    }

    mutating func readArray<T>(_ type: T.Type, count: Int, _ what: String) throws -> [T] {
        let bytes = count * MemoryLayout<T>.stride
        try require(bytes, what)
        let array = [T](unsafeUninitializedCapacity: count) { buffer, initialised in
            if bytes > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base + offset, byteCount: bytes) }
            initialised = count
        }
        offset += bytes
        return array
    }

    mutating func align(to boundary: Int = 64) {
        let remainder = offset % boundary
        if remainder != 0 { offset += boundary - remainder }
    }
}

/// A file mapped copy-on-write (`MAP_PRIVATE`, readable and writable): pages are read lazily from
/// the file, and writes go to private copies, never back to the file.
/// `@unchecked Sendable`: the mapping is immutable after init; writes to its pages are guarded by
/// the owning index's lock.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int
    let path: String

    init(url: URL) throws {
        path = url.path
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw SearchIndexError(.io, "cannot open the index file \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw SearchIndexError(.io, "cannot read the size of \(url.path): \(String(cString: strerror(errno)))")
        }
        size = Int(status.st_size)
        guard size > 0 else { throw SearchIndexError(.corruptFile, "the index file \(url.path) is empty; rebuild the index") }
        guard let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0), pointer != MAP_FAILED else {
            throw SearchIndexError(.io, "cannot memory-map \(url.path): \(String(cString: strerror(errno)))")
        }
        base = pointer
    }

    deinit { munmap(base, size) }

    func reader() -> IndexFileReader { IndexFileReader(base: UnsafeRawPointer(base), size: size, path: path) }
}
