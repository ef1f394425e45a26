/// Why a call to the brender server failed, phrased for the person who ran the command.
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server could not be reached at all.
    case unreachable(url: String, reason: String)
    /// The server answered with an error.
    case refused(status: Int, code: String, message: String, field: String?)
    /// The server's answer could not be understood (not brender, or a proxy's error page).
    case invalidResponse(url: String, detail: String)
    /// The configured server address is not a usable URL.
    case invalidServerURL(String)
    /// The certificate authorities to trust (`--ca`) could not be used.
    case invalidTrust(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            ClientError.isRefusal(reason)
                ? "cannot reach the brender server at \(url) (\(reason)); is 'brender server' running there, on that port?"
                : "cannot reach the brender server at \(url) (\(reason)); the network between here and the server may be down, or the server is stopped or overloaded"
        case .refused(_, _, let message, _):
            message
        case .invalidResponse(let url, let detail):
            "the server at \(url) did not answer like a brender server (\(detail)); check --server"
        case .invalidServerURL(let text):
            "'\(text)' is not a server URL; use one like http://127.0.0.1:9999 or https://farm.example:9999 (--server or BRENDER_SERVER)"
        case .invalidTrust(let path, let detail):
            "cannot use \(path) as the certificate authorities to trust (\(detail)); give a PEM file of CA certificates with --ca"
        }
    }

    /// Whether a connection failure means nothing listens there (as opposed to no answer at all).
    static func isRefusal(_ reason: String) -> Bool {
        let lowered = reason.lowercased()
        return lowered.contains("refused") || lowered.contains("econnrefused")
    }

    /// The HTTP status of a refusal.
    public var status: Int? {
        if case .refused(let status, _, _, _) = self { return status }
        return nil
    }
}
