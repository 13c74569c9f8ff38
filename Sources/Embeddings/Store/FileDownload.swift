import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One file fetched over HTTP(S) straight to disk, its bytes reported as they arrive (a 90 MB model
/// is not held in memory, and the command can draw how far it is).
enum FileDownload {
    enum Event: Sendable {
        /// The response's head arrived; `expected` is its Content-Length when it has one.
        case started(expected: Int?)
        /// Bytes written so far.
        case received(Int)
    }

    /// Fetches `url` into `target` (created or truncated). Returns the HTTP status; the body is in
    /// `target` whatever it is, so the caller decides what a non-2xx means.
    static func fetch(
        _ url: URL, to target: URL, timeout: TimeInterval = 30, events: @escaping @Sendable (Event) -> Void
    ) async throws -> Int? {
        guard FileManager.default.createFile(atPath: target.path, contents: nil), let handle = try? FileHandle(forWritingTo: target) else {
            throw EmbeddingsError(.io, "cannot write \(target.path)")
        }
        defer { try? handle.close() }
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        return try await withCheckedThrowingContinuation { continuation in
            let delegate = Delegate(handle: handle, target: target, events: events, continuation: continuation)
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = timeout
            let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
            session.dataTask(with: url).resume()
            session.finishTasksAndInvalidate()
        }
    }

    /// `@unchecked Sendable`: URLSession calls its delegate on the delegate queue, which runs one
    /// operation at a time, so the mutable state below is never touched from two threads at once.
    private final class Delegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let handle: FileHandle
        let target: URL
        let events: @Sendable (Event) -> Void
        var continuation: CheckedContinuation<Int?, any Error>?
        var status: Int?
        var received = 0
        var writeFailure: (any Error)?

        init(handle: FileHandle, target: URL, events: @escaping @Sendable (Event) -> Void, continuation: CheckedContinuation<Int?, any Error>) {
            self.handle = handle
            self.target = target
            self.events = events
            self.continuation = continuation
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
        ) {
            status = (response as? HTTPURLResponse)?.statusCode
            let length = response.expectedContentLength
            events(.started(expected: length >= 0 ? Int(exactly: length) : nil))
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard writeFailure == nil else { return }
            do {
                try handle.write(contentsOf: data)
            } catch {
                writeFailure = error
                dataTask.cancel()
                return
            }
            received += data.count
            events(.received(received))
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            guard let continuation else { return }
            self.continuation = nil
            if let writeFailure {
                continuation.resume(throwing: EmbeddingsError(.io, "cannot write \(target.path): \(writeFailure.localizedDescription)"))
            } else if let error {
                continuation.resume(throwing: error)
            } else {
                continuation.resume(returning: status)
            }
        }
    }
}
