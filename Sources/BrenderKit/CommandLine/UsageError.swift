/// A mistake in how a command was invoked. Printed with a one-line hint; exit status 2.
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    /// What to try instead, e.g. "did you mean '--server'?" plus where help is.
    public let hint: String

    public init(_ message: String, hint: String) {
        self.message = message
        self.hint = hint
    }

    public var description: String { message }
}

/// A failure while carrying out a well-formed command (server unreachable, refused, ...).
/// Printed as `brender: error: ...`; exit status 1.
public struct CommandFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
