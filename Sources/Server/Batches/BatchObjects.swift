import Foundation
import Gateway
import SwitchyardCore

/// Files and batches as the official SDKs read them (`openai.types.FileObject`, `Batch`;
/// `anthropic.types.messages.MessageBatch`).
enum BatchObjects {
    static func seconds(_ date: Date?) -> JSONValue {
        date.map { .int(Int64($0.timeIntervalSince1970.rounded(.down))) } ?? .null
    }

    static func file(_ file: BatchFile) -> JSONValue {
        [
            "id": .string(file.id), "object": "file", "bytes": .int(Int64(file.bytes)), "created_at": seconds(file.createdAt),
            "filename": .string(file.filename), "purpose": .string(file.purpose), "status": "processed", "expires_at": .null,
            "status_details": .null,
        ]
    }

    static func openAI(_ batch: BatchJob, counts: BatchLineCounts) -> JSONValue {
        let expired = batch.status == .expired
        return [
            "id": .string(batch.id), "object": "batch", "endpoint": .string(batch.endpoint),
            "input_file_id": .string(batch.inputFileID ?? ""), "completion_window": .string(batch.completionWindow),
            "status": .string(batch.status.rawValue),
            "errors": batch.errors.isEmpty ? .null : ["object": "list", "data": .array(batch.errors)],
            "output_file_id": batch.outputFileID.map { .string($0) } ?? .null,
            "error_file_id": batch.errorFileID.map { .string($0) } ?? .null,
            "created_at": seconds(batch.createdAt), "in_progress_at": seconds(batch.inProgressAt),
            "expires_at": seconds(batch.expiresAt), "finalizing_at": seconds(batch.finalizingAt),
            "completed_at": expired ? .null : seconds(batch.completedAt), "failed_at": seconds(batch.failedAt),
            "expired_at": expired ? seconds(batch.completedAt) : .null, "cancelling_at": seconds(batch.cancellingAt),
            "cancelled_at": seconds(batch.cancelledAt),
            "request_counts": [
                "total": .int(Int64(counts.total)), "completed": .int(Int64(counts[.succeeded])),
                "failed": .int(Int64(counts[.errored] + counts[.cancelled] + counts[.expired])),
            ],
            "metadata": batch.metadata ?? .null,
        ]
    }

    static func rfc3339(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return .string(formatter.string(from: date))
    }

    static func anthropic(_ batch: BatchJob, counts: BatchLineCounts) -> JSONValue {
        let processing: String
        switch batch.status {
        case .validating, .inProgress, .finalizing: processing = "in_progress"
        case .cancelling: processing = "canceling"
        case .completed, .cancelled, .expired, .failed: processing = "ended"
        }
        let ended = processing == "ended"
        return [
            "id": .string(batch.id), "type": "message_batch", "processing_status": .string(processing),
            "request_counts": [
                "processing": .int(Int64(counts[.pending] + counts[.running])), "succeeded": .int(Int64(counts[.succeeded])),
                "errored": .int(Int64(counts[.errored])), "canceled": .int(Int64(counts[.cancelled])),
                "expired": .int(Int64(counts[.expired])),
            ],
            "created_at": rfc3339(batch.createdAt), "expires_at": rfc3339(batch.expiresAt),
            "ended_at": ended ? rfc3339(batch.cancelledAt ?? batch.completedAt ?? batch.failedAt) : .null,
            "cancel_initiated_at": rfc3339(batch.cancellingAt), "archived_at": .null,
            // Relative: the SDK joins it to its base URL, so it works behind any prefix or proxy.
            "results_url": ended ? .string("/v1/messages/batches/\(batch.id)/results") : .null,
        ]
    }
}
