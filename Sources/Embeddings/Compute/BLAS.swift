import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The system's OpenBLAS, found at run time.
///
/// Loading it with `dlopen` keeps it optional: the package builds and runs without it (using the
/// Swift kernel in `MatrixMultiply`), and is about 3-4x faster with Debian's `libopenblas0`
/// (`apt-get install libopenblas0`, or `libopenblas-dev`) installed.
struct BLAS: @unchecked Sendable {
    // @unchecked: holds C function pointers into a library that is never unloaded.

    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetString = @convention(c) () -> UnsafePointer<CChar>?

    let sgemm: SGEMM
    /// e.g. "OpenBLAS 0.3.21 ... Cooperlake".
    let description: String

    /// The process-wide instance, or nil when no OpenBLAS is installed or
    /// `SWITCHYARD_EMBEDDINGS_BLAS=off` asks for the Swift kernel.
    static let shared: BLAS? = load()

    private static func load() -> BLAS? {
        if let setting = getenv("SWITCHYARD_EMBEDDINGS_BLAS").map({ String(cString: $0) }),
           ["0", "off", "none", "swift", "false"].contains(setting.lowercased()) {
            return nil
        }
        // Debian's DYNAMIC_ARCH OpenBLAS does not recognise some virtualised CPUs and falls back to
        // its SSE3 ("Prescott") kernels, 2-4x slower; name the right core from /proc/cpuinfo.
        if getenv("OPENBLAS_CORETYPE") == nil, let core = coreType() {
            setenv("OPENBLAS_CORETYPE", core, 0)
        }
        let candidates = [
            "libopenblas.so.0", "libopenblas.so",
            "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
            "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
        ]
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let sgemmSymbol = dlsym(handle, "cblas_sgemm") else { continue }
            // Our own two workers split every product, so OpenBLAS must not start threads of its
            // own: they would spin and compete with ours for the same cores.
            if let setThreads = dlsym(handle, "openblas_set_num_threads") {
                unsafeBitCast(setThreads, to: SetThreads.self)(1)
            }
            var description = "OpenBLAS"
            if let config = dlsym(handle, "openblas_get_config"),
               let text = unsafeBitCast(config, to: GetString.self)() {
                description = String(cString: text)
            }
            if let core = dlsym(handle, "openblas_get_corename"),
               let text = unsafeBitCast(core, to: GetString.self)() {
                description += " (\(String(cString: text)))"
            }
            return BLAS(sgemm: unsafeBitCast(sgemmSymbol, to: SGEMM.self), description: description)
        }
        return nil
    }

    /// The OpenBLAS core name matching this CPU's vector extensions, if any is worth forcing.
    static func coreType() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
            return flags.contains("avx512_bf16") ? "COOPERLAKE" : "SKYLAKEX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "HASWELL" }
        return nil
    }

    static let rowMajor: Int32 = 101
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112
}
