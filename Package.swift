// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "brender",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "brender", targets: ["brender"]),
        .library(name: "BrenderKit", targets: ["BrenderKit"]),
        .library(name: "FarmCore", targets: ["FarmCore"]),
    ],
    dependencies: [
        // HTTP server. Its default traits pull in swift-configuration, which brender does not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // Graceful shutdown on SIGTERM/SIGINT; already a dependency of Hummingbird.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Runs Blender and command tasks: signals reach the child, unlike Foundation.Process off the main thread.
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // Workers keep HTTP connections open with NIO (a fifth of URLSession's CPU a request,
        // measured); already built for Hummingbird, so it adds no build time.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // TLS for the server (Hummingbird's HummingbirdTLS), the workers and the command line:
        // BoringSSL built in, so the binary needs no system OpenSSL (README, "TLS", for its build cost).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The farm's model and rules: clients, jobs and tasks, their lifecycles and the
        // scheduling policy. It depends on nothing (no HTTP, NIO, SQLite or logging), reads no
        // clock and draws no random number: every time it needs is given (README "Architecture").
        .target(
            name: "FarmCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BrenderKit",
            dependencies: [
                "FarmCore",
                "CSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            // The dashboard's page, script, style and icon, compiled in: the binary is all there is to install.
            resources: [
                .embedInCode("Dashboard/Assets/index.html"), .embedInCode("Dashboard/Assets/dashboard.js"),
                .embedInCode("Dashboard/Assets/dashboard.css"), .embedInCode("Dashboard/Assets/icon.svg"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "brender",
            dependencies: ["BrenderKit"],
            swiftSettings: swiftSettings,
            // The executable exports no symbols: the dynamic loader then has tens of thousands
            // fewer to look at, which is part of every command's start-up (BENCHMARKS.md).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])]
        ),
        // Real processes for integration tests and benchmarks: a posix_spawn child and a test farm.
        .target(
            name: "BrenderTesting",
            dependencies: ["FarmCore", "BrenderKit"],
            swiftSettings: swiftSettings
        ),
        // The deterministic simulation of the farm (README "Deterministic simulation").
        .target(
            name: "BrenderSimulation",
            dependencies: ["FarmCore", "BrenderKit", "BrenderTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "brender-sim",
            dependencies: ["BrenderSimulation"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "brender-bench",
            dependencies: ["FarmCore", "BrenderKit", "BrenderTesting"],
            path: "Benchmarks/brender-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BrenderKitTests",
            dependencies: ["FarmCore", "BrenderKit", "BrenderTesting", "BrenderSimulation"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            // Depends on the executable so `swift test` builds the binary the tests run.
            dependencies: ["FarmCore", "BrenderKit", "BrenderTesting", "brender", .product(name: "NIOHTTP1", package: "swift-nio")],
            // The browser scenario, run by DashboardBrowserTests with python3 and selenium.
            exclude: ["Dashboard/dashboard_scenario.py"],
            swiftSettings: swiftSettings
        ),
    ]
)
