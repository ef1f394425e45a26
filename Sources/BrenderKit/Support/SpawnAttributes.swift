#if canImport(Glibc)
    import Glibc
#endif

/// `posix_spawn` attributes for a child that starts clean: no blocked signals, and the default
/// action for the signals that stop or concern it, whatever the parent blocks or ignores (a Swift
/// program blocks some on its threads; the child guard ignores SIGTERM).
public enum SpawnAttributes {
    /// Calls `body` with such attributes; `newProcessGroup` makes the child lead a group of its own.
    public static func clean<T>(newProcessGroup: Bool, _ body: (inout posix_spawnattr_t) -> T) -> T {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newProcessGroup ? POSIX_SPAWN_SETPGROUP : 0)
        posix_spawnattr_setflags(&attributes, Int16(flags))
        if newProcessGroup { posix_spawnattr_setpgroup(&attributes, 0) }
        return body(&attributes)
    }
}
