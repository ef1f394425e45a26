import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the dashboard: the page at `/` and its files at `/assets/NAME`.
///
/// The files hold no farm data, so they are served to anyone; everything the page shows comes
/// from the API, the event stream and the previews, which need a token (sent by the page as an
/// `Authorization` header from the browser's session storage, never in a URL or a cookie). Every
/// answer carries a strict Content-Security-Policy: scripts, styles and connections from this
/// server only, no inline script, no framing.
struct DashboardRoutes: Sendable {
    /// What the browser may load and run on a dashboard page.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The page, with each file's URL carrying its digest so that the files can be cached for good.
    static let page: [UInt8] = {
        var text = String(decoding: DashboardAsset.page.bytes, as: UTF8.self)
        for asset in DashboardAsset.files.values {
            text = text.replacingOccurrences(of: "/assets/\(asset.name)\"", with: "/assets/\(asset.name)?v=\(asset.digest)\"")
        }
        return Array(text.utf8)
    }()
    static let pageETag = "\"\(SHA256.hex(of: page).prefix(16))\""

    func register(on router: Router<BrenderRequestContext>) {
        for method: HTTPRequest.Method in [.get, .head] {
            for path in ["/", "/index.html"] {
                router.on(RouterPath(stringLiteral: path), method: method) { request, _ in
                    Self.answer(request, bytes: Self.page, contentType: DashboardAsset.page.contentType, etag: Self.pageETag, immutable: false)
                }
            }
            router.on("/assets/:name", method: method) { request, context in
                guard let name = context.parameters.get("name"), let asset = DashboardAsset.files[name] else {
                    return Routes.json(APIError(.notFound, "no such dashboard file", field: "name").json, status: .notFound)
                }
                // Asked for by this exact version (the page's links): cache it for good.
                let immutable = request.uri.queryParameters.get("v").map { String($0) } == asset.digest
                return Self.answer(request, bytes: asset.bytes, contentType: asset.contentType, etag: "\"\(asset.digest)\"", immutable: immutable)
            }
        }
    }

    private static func answer(_ request: Request, bytes: [UInt8], contentType: String, etag: String, immutable: Bool) -> Response {
        var headers = securityHeaders
        headers[.eTag] = etag
        headers[.cacheControl] = immutable ? "public, max-age=31536000, immutable" : "no-cache"
        if request.headers[.ifNoneMatch] == etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        if request.method == .head {
            headers[.contentLength] = String(bytes.count)
            return Response(status: .ok, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Headers on every dashboard answer.
    static var securityHeaders: HTTPFields {
        var headers: HTTPFields = [:]
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        return headers
    }
}

/// Refuses a request that changes something when a browser says it comes from another site.
///
/// The dashboard's token travels in a header that another site's page cannot set without the
/// server's CORS consent (never given), so a forged request would already lack it; this is the
/// second lock, checked before any handler runs, for requests other than GET and HEAD (reads
/// change nothing, and what they return a foreign page cannot read):
/// - `Sec-Fetch-Site` (sent by every current browser, and not settable by a page's script) must
///   be `same-origin` or `none` (typed or bookmarked): `same-site` (a sibling subdomain) and
///   `cross-site` are refused.
/// - Without it (an older browser), an `Origin` must name the host asked for, as the `Host`
///   header or, behind a reverse proxy that rewrites it, `X-Forwarded-Host` says.
/// Requests from programs (the command line, workers, curl) send neither and pass.
struct CrossSiteGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method != .get && request.method != .head, let why = Self.refusal(request.headers, authority: request.head.authority) {
            return Routes.json(APIError(.forbidden, why, field: "origin").json, status: .forbidden)
        }
        return try await next(request, context)
    }

    /// Why a changing request is refused as cross-site, or nil.
    static func refusal(_ headers: HTTPFields, authority: String?) -> String? {
        if let site = headers[HTTPField.Name("Sec-Fetch-Site")!] {
            return site == "same-origin" || site == "none" ? nil : "a request from another site's page (\(site.prefix(32))) may not change the farm"
        }
        guard let origin = headers[.origin] else { return nil }
        let host = (origin.split(separator: "://", maxSplits: 1).last.map(String.init) ?? origin).lowercased()
        let forwarded = headers[HTTPField.Name("X-Forwarded-Host")!]?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard [authority, forwarded].contains(where: { $0?.lowercased() == host }) else {
            return "the request comes from \(origin.prefix(128)), not from this server's own pages"
        }
        return nil
    }
}
