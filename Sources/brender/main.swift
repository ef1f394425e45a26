import BrenderKit
import Foundation

// The guard between a worker and Blender starts before anything else runs (no tasks, no threads).
if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == ChildGuard.command {
    ChildGuard.run(Array(CommandLine.arguments.dropFirst(2)))
}
exit(await BrenderCLI.run(Array(CommandLine.arguments.dropFirst())))
