import Foundation
import Guardrails
import SwitchyardCore

/// Where the gateway gets its guard detector.
public enum GuardDetectors {
    /// The detector `serve` runs for `configuration`: nil when no policy is configured (nothing to
    /// load). Until the native detectors (patterns with checksums, the MiniLM injection classifier
    /// and NER) are wired in here, this is nil too, and policies fail closed (`on_error: block`) or
    /// open (`on_error: allow`) as they say.
    public static func standard(for configuration: SwitchyardConfiguration) throws -> (any GuardDetector)? {
        guard !configuration.guardrails.isEmpty else { return nil }
        return nil
    }
}
