import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /` and `GET /dashboard/*`: the dashboard, embedded in the binary (no CDN, no build step). The
/// page holds no data and needs no key: its scripts ask for the key, keep it in `sessionStorage` and
/// call the JSON APIs with it, so every figure is scoped by the API it comes from.
///
/// Assets are served with their ETag; the page names them with `?v=<hash of every asset>`, so a
/// versioned asset may be cached for good while the page itself is revalidated on every load.
struct DashboardPage: Sendable {
    struct Asset: Sendable {
        var contentType: String
        var body: String
        var etag: String

        init(contentType: String, body: String) {
            self.contentType = contentType
            self.body = body
            self.etag = "\"\(DashboardPage.fingerprint(body))\""
        }
    }

    /// What the page may load: its own scripts, styles, and calls to its own origin; nothing inline,
    /// nothing remote, no frames, no plugins, no form posts.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// Scripts in the order the page loads them.
    static let scripts: [(path: String, body: String)] = [
        ("/dashboard/core.js", DashboardScripts.core),
        ("/dashboard/charts.js", DashboardScripts.charts),
        ("/dashboard/overview.js", DashboardScripts.overview),
        ("/dashboard/requests.js", DashboardScripts.requests),
        ("/dashboard/more.js", DashboardScripts.more),
        ("/dashboard/evals.js", DashboardScripts.evals),
    ]

    static let assets: [String: Asset] = {
        var assets: [String: Asset] = ["/dashboard/dashboard.css": Asset(contentType: "text/css; charset=utf-8", body: DashboardStyles.css)]
        assets["/dashboard/favicon.svg"] = Asset(contentType: "image/svg+xml", body: DashboardHTML.favicon)
        for script in scripts { assets[script.path] = Asset(contentType: "text/javascript; charset=utf-8", body: script.body) }
        return assets
    }()

    /// One hash over every asset: the `?v=` of the page's links.
    static let version = fingerprint(assets.keys.sorted().map { assets[$0]?.body ?? "" }.joined(separator: "\u{0}"))

    static let page = Asset(
        contentType: "text/html; charset=utf-8",
        body: DashboardHTML.page
            .replacingOccurrences(of: "{{scripts}}", with: scripts.map { "<script defer src=\"\($0.path)?v=\(version)\"></script>" }.joined(separator: "\n"))
            .replacingOccurrences(of: "{{version}}", with: version))

    static let publicPaths = ["/"] + assets.keys.sorted()

    func register(on router: Router<SwitchyardRequestContext>) {
        router.get("/") { request, _ in Self.respond(Self.page, request: request, immutable: false) }
        for (path, asset) in Self.assets {
            router.get(RouterPath(stringLiteral: path)) { request, _ in
                // Only the current version may be cached for good; any other `v` (or none) is revalidated.
                let versioned = request.uri.queryParameters["v"].map { String($0) == Self.version } ?? false
                return Self.respond(asset, request: request, immutable: versioned)
            }
        }
    }

    static func respond(_ asset: Asset, request: Request, immutable: Bool) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType, .eTag: asset.etag,
            .cacheControl: immutable ? "public, max-age=31536000, immutable" : "no-cache",
            .contentSecurityPolicy: contentSecurityPolicy, .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer",
            .xFrameOptions: "DENY",
        ]
        if let presented = request.headers[.ifNoneMatch], presented.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == asset.etag
        }) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: asset.body)))
    }

    /// FNV-1a, 64 bits, in hex: a short stable name for an asset's content (not a security hash).
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("x-frame-options")!
    static let referrerPolicy = Self("referrer-policy")!
}
