import Foundation
import Storage
import SwitchyardCore

extension Gateway {
    /// What `POST /v1/switchyard/feedback` asks for, checked at the edge: exactly one of
    /// `requestID` and `episodeID`, a valid metric, a finite value, a comment of at most 4 KB.
    public struct FeedbackInput: Sendable {
        public var requestID: String?
        public var episodeID: String?
        public var metric: String
        public var value: FeedbackValue
        public var comment: String?

        public init(requestID: String?, episodeID: String?, metric: String, value: FeedbackValue, comment: String? = nil) {
            self.requestID = requestID
            self.episodeID = episodeID
            self.metric = metric
            self.value = value
            self.comment = comment
        }
    }

    /// Stores feedback on a logged request or an episode the caller may see (the request log's
    /// scope: an admin all, a team admin its team's, a member its own). One it may not see is a 404,
    /// as one that does not exist: feedback never tells a key that another key's request exists.
    /// Requests that just finished may still be in the log's queue: it is flushed before a 404.
    public func recordFeedback(_ input: FeedbackInput, caller: Caller) async throws -> Feedback {
        guard let store = requestLog.store else {
            throw SwitchyardError(code: .notFound, message: "This gateway keeps no request log, so there is nothing to give feedback on.", status: 404)
        }
        let scope = caller.ledgerScope
        if let id = input.requestID {
            var found = try await store.record(id: id, scope: scope) != nil
            if !found {
                await requestLog.flushForRead()
                found = try await store.record(id: id, scope: scope) != nil
            }
            guard found else {
                throw SwitchyardError(
                    code: .notFound, message: "No request with id '\(id.quotedPrefix(64))' is in the log.", status: 404, param: "request_id")
            }
        } else if let episode = input.episodeID {
            var found = try await store.episodeExists(episode, scope: scope)
            if !found {
                await requestLog.flushForRead()
                found = try await store.episodeExists(episode, scope: scope)
            }
            guard found else {
                throw SwitchyardError(
                    code: .notFound, message: "No request of episode '\(episode.quotedPrefix(64))' is in the log.", status: 404,
                    param: "episode_id")
            }
        } else {
            throw SwitchyardError.invalidRequest("Give request_id or episode_id.", param: "request_id")
        }
        let feedback = Feedback(
            id: Feedback.newID(), requestID: input.requestID, episodeID: input.requestID == nil ? input.episodeID : nil,
            metric: input.metric, value: input.value, comment: input.comment, createdAt: Date(), keyID: caller.key?.id)
        try await store.insertFeedback(feedback)
        return feedback
    }

    /// Prompt capture, for training routers from traffic: the last user turn as it went upstream,
    /// for the log, when `request_log.store_prompts` is on. Never the client's own text where a guard found personal data and left it in (flag, shadow
    /// mode, route-local) or could not look (a detector error under `on_error: allow`): then nothing.
    func loggedPrompt(_ request: ChatRequest, guarded: GuardedRequest?) -> String? {
        guard configuration.requestLog.storePrompts else { return nil }
        if let guarded {
            if guarded.detectorFailed { return nil }
            let leftIn = guarded.trace.findings.contains { finding in
                finding.stage == "input" && finding.category == "pii" && (!guarded.enforcing || !["redact", "mask"].contains(finding.action))
            }
            if leftIn { return nil }
        }
        return PromptCapture.capture(request.messages)
    }

    /// `records` with the feedback on each and on its episode.
    func withFeedback(_ records: [RequestRecord], store: any RequestLogPersistence) async throws -> [RequestRecord] {
        let feedback = try await store.feedback(for: records)
        guard !feedback.isEmpty else { return records }
        return records.map { record in
            var record = record
            record.feedback = feedback[record.id]
            return record
        }
    }
}
