import ArgumentParser
import SwitchyardCore

/// `--precision float32|bfloat16` on the commands that load the local model.
extension EmbeddingPrecision: ExpressibleByArgument {}
