import Foundation

/// A matrix of float32 rows in one file, for caching embeddings and for handing the same vectors to
/// other tools: a 64-byte header ("SYVEC001", row count u64, dimension u32, zero padding), then the
/// rows, little-endian. NumPy reads it with `np.fromfile(path, "<f4", offset=64).reshape(n, d)`.
public enum VectorFile {
    static let magic = "SYVEC001"
    public static let headerSize = 64

    public static func write(_ rows: [[Float]], to url: URL) throws {
        let dimension = rows.first?.count ?? 0
        var writer = IndexFileWriter()
        writer.append(magic: magic)
        writer.append(UInt64(rows.count))
        writer.append(UInt32(dimension))
        writer.align(to: headerSize)
        for row in rows {
            precondition(row.count == dimension, "every row must have the same length")
            writer.append(contentsOf: row)
        }
        try writer.write(to: url)
    }

    public static func read(from url: URL) throws -> [[Float]] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SearchIndexError(.io, "cannot read the vector file \(url.path): \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { throw SearchIndexError(.corruptFile, "the vector file \(url.path) is empty") }
            var reader = IndexFileReader(base: base, size: raw.count, path: url.path)
            guard try reader.readMagic() == magic else { throw SearchIndexError(.unsupportedFile, "\(url.path) is not a vector file") }
            let count = Int(try reader.read(UInt64.self))
            let dimension = Int(try reader.read(UInt32.self))
            guard count >= 0, dimension >= 0, count * dimension * 4 + headerSize == raw.count else { throw reader.corrupt("size") }
            reader.offset = headerSize
            var rows: [[Float]] = []
            rows.reserveCapacity(count)
            for _ in 0..<count { rows.append(try reader.readArray(Float.self, count: dimension, "rows")) }
            return rows
        }
    }
}
