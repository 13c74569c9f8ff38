/// Lower-case hexadecimal of bytes (digests, keys). `String(format: "%02x")` per byte goes
/// through Foundation's formatter and cost ~80 % of an exact cache lookup.
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

private let hexDigits = Array("0123456789abcdef".utf8)
