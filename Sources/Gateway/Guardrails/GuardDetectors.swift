import Embeddings
import Foundation
import Guardrails
import SwitchyardCore

/// Where the gateway gets its guard detector.
public enum GuardDetectors {
    /// The detector `serve` runs for `configuration`: nil when no policy is configured (nothing to load), else the
    /// native detector on the local MiniLM model — loaded now, so a missing model stops the start with the command
    /// that fetches it instead of failing every guarded request later.
    public static func standard(
        for configuration: SwitchyardConfiguration, embedder: () throws -> MiniLMEmbedder
    ) throws -> (any GuardDetector)? {
        guard !configuration.guardrails.isEmpty else { return nil }
        let model: MiniLMEmbedder
        do {
            model = try embedder()
        } catch {
            throw SwitchyardError(
                code: .configuration,
                message: "guardrails are configured, and their detectors need the local model, which could not be loaded (\(error)); fetch it with `switchyard models pull all-minilm-l6-v2`",
                status: 500)
        }
        return try NativeGuardDetector(embedder: model)
    }
}
