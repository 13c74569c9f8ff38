import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a pipe to its end with blocking `read(2)` calls on a thread of its own, handing each chunk to `onData`.
/// The thread holds the handle, so the descriptor stays open until the read loop has ended; `onEnd` is called after
/// the end of the stream or a read error.
///
/// Why not `FileHandle.readabilityHandler`: on Linux its dispatch read source races the descriptor's teardown and
/// can crash the whole process in libdispatch's epoll bookkeeping (swift-corelibs-libdispatch#949; it crashed the
/// gateway when an MCP server's pipes closed). A blocking read never registers the descriptor with libdispatch.
public enum PipeReader {
    public static let chunkBytes = 64 * 1024

    public static func start(
        _ handle: FileHandle, name: String, onData: @escaping @Sendable (Data) -> Void, onEnd: @escaping @Sendable () -> Void = {}
    ) {
        let descriptor = handle.fileDescriptor
        nonisolated(unsafe) let owner = handle
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: chunkBytes)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunkBytes) }
                if count > 0 {
                    onData(Data(buffer[0..<count]))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            try? owner.close()
            onEnd()
        }
        thread.name = name
        thread.start()
    }
}

