import BrenderKit
import Foundation

exit(await BrenderCLI.run(Array(CommandLine.arguments.dropFirst())))
