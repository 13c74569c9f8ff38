import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, its stdin, stdout and stderr on pipes, and its exit
/// reported once from a thread that waits for it.
///
/// Not Foundation's `Process`: on Linux (Swift 6.3.1 here) its `run()` scans `/proc/self/fd` copying
/// 256 bytes of each `dirent` whatever its real size, and that over-read crashes the whole process now
/// and then (swift-corelibs-foundation#5472). The test suite's 48 MCP servers started at once hit it;
/// a gateway that starts and restarts MCP servers, or runs `pdftotext` on every PDF it ingests, must not.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The child's stdin (write end), stdout and stderr (read ends).
    public let input: FileHandle
    public let output: FileHandle
    public let errorOutput: FileHandle
    private let running = Mutex(true)

    public var isRunning: Bool { running.withLock { $0 } }

    private init(pid: pid_t, input: FileHandle, output: FileHandle, errorOutput: FileHandle) {
        self.pid = pid
        self.input = input
        self.output = output
        self.errorOutput = errorOutput
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `executable` (a path) with `arguments`, exactly `environment`, and `workingDirectory` if
    /// given. Every descriptor of this process but the three pipes is closed in the child; signals the
    /// gateway ignores or handles are back to their defaults there. `onExit` gets the exit status (or the
    /// signal's number when a signal ended it), once.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String?,
        onExit: @escaping @Sendable (Int32) -> Void
    ) throws -> ChildProcess {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard Self.makePipe(&stdinPipe) else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        guard Self.makePipe(&stdoutPipe) else {
            for fd in stdinPipe { close(fd) }
            throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        guard Self.makePipe(&stderrPipe) else {
            for fd in stdinPipe + stdoutPipe { close(fd) }
            throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        // The child's ends are closed here whatever happens; the parent's only on failure.
        defer { for fd in [stdinPipe[0], stdoutPipe[1], stderrPipe[1]] { close(fd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        Self.addCloseFrom(&actions, lowest: 3)
        if let workingDirectory {
            guard Self.addChangeDirectory(&actions, workingDirectory) else {
                for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] { close(fd) }
                throw SpawnError(description: "this C library cannot set a child's working directory")
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] { close(fd) }
            throw SpawnError(description: String(cString: strerror(result)))
        }
        let child = ChildProcess(
            pid: pid, input: FileHandle(fileDescriptor: stdinPipe[1], closeOnDealloc: true),
            output: FileHandle(fileDescriptor: stdoutPipe[0], closeOnDealloc: true),
            errorOutput: FileHandle(fileDescriptor: stderrPipe[0], closeOnDealloc: true))
        let childPID = pid
        let waiter = Thread {
            var status: Int32 = 0
            while waitpid(childPID, &status, 0) == -1, errno == EINTR {}
            child.running.withLock { $0 = false }
            // Exited: its code; killed by a signal: the signal's number (as Foundation's `terminationStatus`).
            onExit(status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f)
        }
        waiter.name = "switchyard-child-wait"
        waiter.start()
        return child
    }

    /// A pipe whose ends are close-on-exec (`pipe2` is not in the headers Swift sees): a process spawned meanwhile
    /// elsewhere does not keep them open; this type's own children get theirs by `dup2` and close the rest.
    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// Sends `signal` while the child runs (never to a reaped pid, which may be another process's by now).
    public func signal(_ signal: Int32) {
        running.withLock { running in
            if running { kill(pid, signal) }
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np` (not in the headers Swift sees); without it,
    /// each descriptor up to the open-file limit (at most 65,536) is closed one by one.
    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, lowest: Int32) {
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, lowest)
            return
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let highest = Int32(clamping: min(UInt64(limit.rlim_cur), 65_536))
        guard highest > lowest else { return }
        for fd in lowest..<highest where fcntl(fd, F_GETFD) != -1 { posix_spawn_file_actions_addclose(&actions, fd) }
    }

    /// glibc 2.29's `posix_spawn_file_actions_addchdir_np`; false when the C library has none.
    private static func addChangeDirectory(_ actions: inout posix_spawn_file_actions_t, _ path: String) -> Bool {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return false }
        return path.withCString { unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, $0) } == 0
    }
}
