/// An error from the native embedding engine, with a code and a message a user can act on.
public struct EmbeddingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a stable code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The model folder or one of its files is missing.
        public static let modelNotFound = Code("model_not_found")
        /// A model file is present but cannot be parsed or has an unexpected shape.
        public static let invalidModel = Code("invalid_model")
        /// A downloaded file does not have the expected sha256.
        public static let checksumMismatch = Code("checksum_mismatch")
        /// Fetching the model failed (network, pip).
        public static let downloadFailed = Code("download_failed")
        /// The model name is not one this engine knows.
        public static let unknownModel = Code("unknown_model")
        /// A file system operation failed.
        public static let io = Code("io")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
