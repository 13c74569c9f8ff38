#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// `serve` raises its soft open-file limit to the hard limit: every client connection and every upstream one is a
/// descriptor, so a thousand concurrent streams need two thousand, and shells and service managers often start
/// processes with a soft limit of 1,024.
enum OpenFileLimit {
    /// Below this hard limit the gateway says so at start (a thousand streams and their upstream connections).
    static let recommended: UInt64 = 4_096

    struct Outcome: Equatable {
        var before: UInt64
        var after: UInt64
        var hard: UInt64
    }

    @discardableResult
    static func raise(logger: Logger) -> Outcome? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur), hard = UInt64(limit.rlim_max)
        // An unlimited hard limit still has the kernel's ceiling (nr_open, usually 1,048,576).
        let target = min(hard, 1 << 20)
        var after = before
        if before < target {
            var raised = limit
            raised.rlim_cur = rlim_t(target)
            if setrlimit(Self.resource, &raised) == 0 {
                after = target
            } else {
                raised.rlim_cur = rlim_t(min(hard, 65_536))  // nr_open may be lower than 2^20
                if min(hard, 65_536) > before, setrlimit(Self.resource, &raised) == 0 { after = min(hard, 65_536) }
            }
        }
        if after != before {
            logger.info("open files: soft limit raised from \(before) to \(after)")
        }
        if after < recommended {
            logger.warning(
                "open files: the limit is \(after) (hard limit \(hard)); a thousand concurrent streams need about 2,000. Raise the hard limit (ulimit -Hn, or LimitNOFILE= in a systemd unit)")
        }
        return Outcome(before: before, after: after, hard: hard)
    }

    #if canImport(Glibc)
    static var resource: __rlimit_resource_t { __rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)) }
    #else
    static var resource: Int32 { RLIMIT_NOFILE }
    #endif
}
