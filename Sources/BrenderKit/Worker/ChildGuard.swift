import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `brender __child-guard PARENT_PID PROGRAM [ARG ...]`: a small process between a worker and
/// Blender, so that a render never outlives its worker.
///
/// The worker starts it as the leader of a new process group; it starts PROGRAM in that group,
/// waits for it and ends the same way (the same exit code, or the same signal). Four times a
/// second it checks that the worker is still its parent; when the worker is gone (killed with
/// SIGKILL, say), it stops the whole group: SIGTERM, then SIGKILL five seconds later. It costs one
/// short-lived process start per task (about 10 ms of CPU), so it guards Blender tasks, whose
/// process start alone takes a second; command tasks are covered by the worker's record of its
/// process groups, stopped when it starts again.
///
/// Linux's `PR_SET_PDEATHSIG` is not used: it fires when the *thread* that started the child
/// ends, and the worker starts children from a pool whose threads come and go.
public enum ChildGuard {
    /// The hidden command word.
    public static let command = "__child-guard"

    /// The argv that runs `program` under a guard watching this process.
    static func arguments(program: String, arguments: [String]) -> (executable: String, arguments: [String])? {
        guard let me = executablePath else { return nil }
        return (me, [command, String(getpid()), program] + arguments)
    }

    /// This process's own executable.
    static var executablePath: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs the guard with the arguments after the command word; never returns.
    public static func run(_ arguments: [String]) -> Never {
        guard arguments.count >= 2, let parent = pid_t(arguments[0]) else {
            FileHandle.standardError.write(Data("brender: error: \(command) needs PARENT_PID PROGRAM [ARG ...]\n".utf8))
            exit(2)
        }
        // The worker stops a task by signalling the group: the guard outlives the signal and
        // reports how the program ended.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let child = spawn(Array(arguments.dropFirst()))
        guard child > 0 else {
            FileHandle.standardError.write(Data("brender: error: cannot run '\(arguments[1])': \(String(cString: strerror(-child)))\n".utf8))
            exit(127)
        }
        // A thread waits for the program, so its end is reported at once; this one watches the parent.
        Thread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 {
                if errno != EINTR { exit(1) }
            }
            finish(status)
        }.start()
        while getppid() == parent { usleep(250_000) }
        let group = getpgrp()
        kill(-group, SIGTERM)
        sleep(5)
        kill(-group, SIGKILL)
        exit(1)
    }

    /// Starts argv in this process group with default signal handling; returns its pid or -errno.
    private static func spawn(_ argv: [String]) -> pid_t {
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let result = SpawnAttributes.clean(newProcessGroup: false) { attributes in
            posix_spawnp(&pid, cArguments[0]!, nil, &attributes, cArguments, environ)
        }
        return result == 0 ? pid : -result
    }

    /// Ends the guard the way the program ended.
    private static func finish(_ status: Int32) -> Never {
        let signalled = status & 0x7F
        if signalled == 0 { exit((status >> 8) & 0xFF) }
        signal(signalled, SIG_DFL)
        kill(getpid(), signalled)
        exit(128 + signalled)
    }
}
