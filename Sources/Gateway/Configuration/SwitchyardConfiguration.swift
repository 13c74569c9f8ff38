import Foundation
import SwitchyardCore

/// Everything Switchyard runs with, as read from one YAML file.
public struct SwitchyardConfiguration: Sendable {
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 4000
        /// Largest request body accepted, in bytes.
        public var maxBodyBytes = 10 * 1024 * 1024
        public init() {}
    }

    public struct Storage: Sendable {
        /// Path of the SQLite file; `:memory:` for none.
        public var sqlitePath = "switchyard.db"
        public init() {}
    }

    /// An API key clients present; plain strings in the config are unrestricted keys.
    public struct APIKey: Sendable, Hashable {
        public var key: String
        public var name: String
        /// Models (glob patterns) the key may use; `nil` = all.
        public var models: [String]?
        /// Tools (glob patterns) the key may see and call; `nil` = all.
        public var tools: [String]?

        public init(key: String, name: String, models: [String]? = nil, tools: [String]? = nil) {
            self.key = key
            self.name = name
            self.models = models
            self.tools = tools
        }
    }

    public var server = Server()
    public var storage = Storage()
    public var providers: [ProviderConfiguration] = []
    public var models: [ModelSpec] = []
    public var keys: [APIKey] = []
    /// Where the local embedding model lives (`nil`: the default cache folder).
    public var localModelDirectory: String?
    /// Where the file was read from, for messages.
    public var source = "<config>"

    public init() {}

    /// True when clients must present a key.
    public var requiresAuth: Bool { !keys.isEmpty }
}
