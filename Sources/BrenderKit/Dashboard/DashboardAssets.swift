import Foundation

/// The dashboard's files, compiled into the binary (SwiftPM's `embedInCode`): the farm may have no
/// internet and the server ships as one file, so there is nothing to install beside it and no CDN.
struct DashboardAsset: Sendable {
    let name: String
    let bytes: [UInt8]
    let contentType: String
    /// A digest of the bytes: the ETag, and the version in the asset's URL.
    let digest: String

    init(name: String, bytes: [UInt8], contentType: String) {
        self.name = name
        self.bytes = bytes
        self.contentType = contentType
        self.digest = String(SHA256.hex(of: bytes).prefix(16))
    }

    /// The page every dashboard address answers with: the sign-in form, then the app.
    static let page = DashboardAsset(name: "index.html", bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8")

    /// The files the page loads from `/assets/NAME`.
    static let files: [String: DashboardAsset] = Dictionary(
        uniqueKeysWithValues: [
            DashboardAsset(name: "dashboard.js", bytes: PackageResources.dashboard_js, contentType: "text/javascript; charset=utf-8"),
            DashboardAsset(name: "dashboard.css", bytes: PackageResources.dashboard_css, contentType: "text/css; charset=utf-8"),
            DashboardAsset(name: "icon.svg", bytes: PackageResources.icon_svg, contentType: "image/svg+xml"),
        ].map { ($0.name, $0) })
}
