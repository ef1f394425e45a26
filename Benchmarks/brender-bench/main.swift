import BrenderKit
import Foundation

exit(await BenchmarkCLI.run(Array(CommandLine.arguments.dropFirst())))
