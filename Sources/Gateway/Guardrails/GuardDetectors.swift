import Embeddings
import Foundation
import Guardrails
import SwitchyardCore
import Synchronization

/// Where the gateway gets its guard detector.
public enum GuardDetectors {
    /// The detector `serve` runs for `configuration`: nil when no policy is configured (nothing to load), else the
    /// native detector on the local MiniLM model. The model's files are checked now, so a missing model stops the
    /// start with the command that fetches it instead of failing every guarded request later; the model itself
    /// (90 MB of weights, most of an idle gateway's memory) is read on the first scan.
    public static func standard(
        for configuration: SwitchyardConfiguration, model: MiniLMEmbedder.Loader
    ) throws -> (any GuardDetector)? {
        guard !configuration.guardrails.isEmpty else { return nil }
        do {
            try model.checkFiles()
        } catch {
            throw SwitchyardError(
                code: .configuration,
                message: "guardrails are configured, and their detectors need the local model, which could not be loaded (\(error)); fetch it with `switchyard models pull all-minilm-l6-v2`",
                status: 500)
        }
        return LazyGuardDetector { try NativeGuardDetector(embedder: try model.embedder(precision: .float32)) }
    }
}

/// A detector made on its first scan (the async path makes it off the caller's thread: reading the model is
/// a fraction of a second of disk and CPU). A failed make is tried again on the next scan.
final class LazyGuardDetector: GuardDetector {
    private let make: @Sendable () throws -> any GuardDetector
    private let made = Mutex<(any GuardDetector)?>(nil)

    init(_ make: @escaping @Sendable () throws -> any GuardDetector) { self.make = make }

    var isMade: Bool { made.withLock { $0 != nil } }

    private func detector() throws -> any GuardDetector {
        try made.withLock { made in
            if let made { return made }
            let detector = try make()
            made = detector
            return detector
        }
    }

    func scanInjection(_ text: String, channel: GuardChannel) throws -> InjectionVerdict {
        try detector().scanInjection(text, channel: channel)
    }

    func scanPII(_ text: String) throws -> [PIISpan] { try detector().scanPII(text) }

    func scan(_ text: String, channel: GuardChannel) throws -> (injection: InjectionVerdict, pii: [PIISpan]) {
        try detector().scan(text, channel: channel)
    }

    func scan(_ items: [GuardScanItem]) async throws -> [(injection: InjectionVerdict, pii: [PIISpan])] {
        let detector = isMade ? try detector() : try await BlockingWork.run { try self.detector() }
        return try await detector.scan(items)
    }
}
