import Foundation
import CMiniLMKernels

/// The vector extensions this CPU (and kernel) offer, read once from /proc/cpuinfo.
struct CPUFeatures: Sendable {
    var avx512: Bool
    var avx512BF16: Bool

    static let current: CPUFeatures = {
        guard mlk_compiled_for_x86() != 0,
              let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return CPUFeatures(avx512: false, avx512BF16: false) }
        let flags = Set(line.split(separator: " ").map(String.init))
        let avx512 = flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "fma"])
            && ProcessInfo.processInfo.environment["SWITCHYARD_EMBEDDINGS_AVX512"] != "off"
        return CPUFeatures(avx512: avx512, avx512BF16: avx512 && flags.contains("avx512_bf16"))
    }()
}
