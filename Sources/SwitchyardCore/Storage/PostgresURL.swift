import Foundation

/// A `postgres://` (or `postgresql://`) connection URL, parsed by hand so that nothing of it, the
/// password least of all, ever reaches an error message: errors say what is wrong, never the value.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require][&application_name=…]`;
/// user and password may be percent-encoded. A host starting with `/` (percent-encoded, `%2F…`) is a
/// Unix-socket directory.
public struct PostgresURL: Sendable, Hashable {
    public enum TLSMode: String, Sendable, Hashable { case disable, prefer, require }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode
    public var applicationName: String?

    /// The URL without its password, for logs and `/health`.
    public var redacted: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(_ text: String) throws {
        guard text.utf8.count <= 4096 else { throw Invalid(description: "is longer than 4,096 bytes") }
        var rest: Substring
        if text.hasPrefix("postgres://") { rest = text.dropFirst("postgres://".count) }
        else if text.hasPrefix("postgresql://") { rest = text.dropFirst("postgresql://".count) }
        else { throw Invalid(description: "must start with postgres:// or postgresql://") }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") { query = rest[rest.index(after: mark)...]; rest = rest[..<mark] }
        guard let slash = rest.firstIndex(of: "/") else { throw Invalid(description: "names no database (postgres://USER@HOST:PORT/DATABASE)") }
        let authority = rest[..<slash]
        guard let database = rest[rest.index(after: slash)...].removingPercentEncoding, !database.isEmpty, !database.contains("/") else {
            throw Invalid(description: "names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let at = authority.lastIndex(of: "@") else { throw Invalid(description: "names no user (postgres://USER@HOST:PORT/DATABASE)") }
        let credentials = authority[..<at]
        var hostPort = authority[authority.index(after: at)...]
        let userPart: Substring
        if let colon = credentials.firstIndex(of: ":") {
            userPart = credentials[..<colon]
            guard let password = credentials[credentials.index(after: colon)...].removingPercentEncoding else {
                throw Invalid(description: "has a password that is not valid percent-encoding")
            }
            self.password = password
        } else {
            userPart = credentials
            self.password = nil
        }
        guard let user = userPart.removingPercentEncoding, !user.isEmpty else { throw Invalid(description: "names no user (postgres://USER@HOST:PORT/DATABASE)") }
        self.user = user
        var port = 5432
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw Invalid(description: "has an unclosed [ in its host") }
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(after.dropFirst()) } else if !after.isEmpty { throw Invalid(description: "has text after its host") }
            hostPort = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
        } else if let colon = hostPort.lastIndex(of: ":") {
            port = try Self.port(hostPort[hostPort.index(after: colon)...])
            hostPort = hostPort[..<colon]
        }
        guard let host = hostPort.removingPercentEncoding, !host.isEmpty else { throw Invalid(description: "names no host") }
        self.host = host
        self.port = port
        self.database = database
        tls = .prefer
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
            switch parts[0] {
            case "sslmode":
                switch value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw Invalid(description: "has sslmode '\(value.prefix(20))'; use disable, prefer or require")
                }
            case "application_name": applicationName = String(value.prefix(63))
            case "connect_timeout": break
            default: throw Invalid(description: "has the unknown parameter '\(parts[0].prefix(40))'; known: sslmode, application_name, connect_timeout")
            }
        }
    }

    private static func port(_ text: Substring) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw Invalid(description: "has a port that is not a number from 1 to 65535") }
        return port
    }
}

/// For the config loader: what is wrong with a `storage.postgres` value, or nil.
public enum PostgresURLCheck {
    public static func problem(_ text: String) -> String? {
        do { _ = try PostgresURL(text); return nil } catch { return "the PostgreSQL URL \(error)" }
    }
}
