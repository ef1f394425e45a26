import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct DependencyRuleTests {
    @Test func aJobWaitsUntilEveryDependencyCompleted() {
        let statuses: [Int64: JobStatus] = [1: .completed, 2: .active, 3: .waiting]
        #expect(Dependencies.state(of: [1]) { statuses[$0] } == .met)
        #expect(Dependencies.state(of: [1, 2, 3]) { statuses[$0] } == .pending([2, 3]))
        #expect(Dependencies.state(of: []) { statuses[$0] } == .met)
    }

    @Test func aFailedCanceledOrDeletedDependencyBreaksTheJobAndSaysWhich() {
        let statuses: [Int64: JobStatus] = [1: .completed, 2: .failed, 3: .canceled]
        #expect(Dependencies.state(of: [1, 2]) { statuses[$0] } == .broken("job 2, which it waits for, failed"))
        #expect(Dependencies.state(of: [3]) { statuses[$0] } == .broken("job 3, which it waits for, was canceled"))
        #expect(Dependencies.state(of: [9]) { statuses[$0] } == .broken("job 9, which it waits for, was deleted"))
    }

    @Test func cyclesAreFoundWithTheirPath() {
        let after: [Int64: [Int64]] = [1: [], 2: [1], 3: [2], 4: [3]]
        #expect(Dependencies.cycle(from: 1, after: [4]) { after[$0] ?? [] } == [1, 4, 3, 2, 1])
        #expect(Dependencies.cycle(from: 1, after: [1]) { after[$0] ?? [] } == [1, 1])
        #expect(Dependencies.cycle(from: 4, after: [1, 2]) { after[$0] ?? [] } == nil)
        // A diamond is not a cycle.
        let diamond: [Int64: [Int64]] = [2: [1], 3: [1], 4: [2, 3]]
        #expect(Dependencies.cycle(from: 5, after: [4, 2]) { diamond[$0] ?? [] } == nil)
    }
}

@Suite struct BlocklistTests {
    @Test func aClientIsBlockedAtTheThresholdOnly() {
        var list = Blocklist()
        #expect(list.recordFailure(on: 7) == 1)
        list.recordFailure(on: 7)
        list.recordFailure(on: 8)
        #expect(!list.isBlocked(7, threshold: 3))
        list.recordFailure(on: 7)
        #expect(list.isBlocked(7, threshold: 3) && !list.isBlocked(8, threshold: 3))
        #expect(list.blocked(threshold: 1) == [7, 8])
        list.clear()
        #expect(list.blocked(threshold: 1).isEmpty)
    }
}

@Suite struct WorkingHoursTests {
    @Test func parsesDaysRangesListsAndSeveralRules() throws {
        let hours = try WorkingHours(parsing: "mo-fr 09:00-19:00; sa,su 10:00-12:30")
        #expect(hours.contains(weekday: 0, minute: 9 * 60))
        #expect(hours.contains(weekday: 4, minute: 18 * 60 + 59))
        #expect(!hours.contains(weekday: 4, minute: 19 * 60))
        #expect(!hours.contains(weekday: 2, minute: 8 * 60 + 59))
        #expect(hours.contains(weekday: 6, minute: 11 * 60))
        #expect(!hours.contains(weekday: 5, minute: 13 * 60))
        #expect(try WorkingHours(parsing: "08:00-09:00").contains(weekday: 3, minute: 8 * 60 + 30), "no days means every day")
        #expect(try WorkingHours(parsing: "fr-mo 00:00-24:00").contains(weekday: 6, minute: 0), "a day range may wrap the week")
    }

    @Test func aRangePastMidnightBelongsToTheDayItStarts() throws {
        let nights = try WorkingHours(parsing: "fr 22:00-06:00")
        #expect(nights.contains(weekday: 4, minute: 23 * 60))
        #expect(nights.contains(weekday: 5, minute: 5 * 60), "Saturday morning is Friday's night")
        #expect(!nights.contains(weekday: 4, minute: 5 * 60), "Friday morning belongs to Thursday, which has no rule")
    }

    @Test func badSchedulesAreRefusedSayingWhy() {
        for bad in ["", "mo-fr", "mo-fr 9-17", "xx 09:00-10:00", "mo 09:00-09:00", "mo 25:00-26:00", "mo-fr 09:00-19:00 extra"] {
            #expect(throws: FarmError.self, "\(bad)") { try WorkingHours(parsing: bad) }
        }
    }

    @Test func timesAreTheWorkersLocalTime() throws {
        let hours = try WorkingHours(parsing: "mo-fr 09:00-19:00")
        // Monday 2026-11-30 08:30 UTC is 09:30 in Amsterdam (UTC+1) and 03:30 in New York.
        let mondayMorning = Date(timeIntervalSince1970: 1_796_027_400).timeIntervalSince1970
        #expect(hours.contains(mondayMorning, timeZone: TimeZone(identifier: "Europe/Amsterdam")!))
        #expect(!hours.contains(mondayMorning, timeZone: TimeZone(identifier: "America/New_York")!))
        #expect(!hours.contains(mondayMorning, timeZone: TimeZone(identifier: "UTC")!))
    }
}

@Suite struct PathMappingTests {
    let maps = [
        PathMap(name: "projects", prefixes: [.linux: "/mnt/projects", .darwin: "/Volumes/projects", .windows: "P:\\"]),
        PathMap(name: "renders", prefixes: [.linux: "/mnt/renders", .windows: "\\\\nas\\renders"]),
        PathMap(name: "deep", prefixes: [.linux: "/mnt/projects/archive", .windows: "Q:\\archive"]),
    ]

    @Test func linuxPathsBecomeWindowsDriveLettersAndUNCPaths() {
        #expect(PathMapping.rewrite("/mnt/projects/shot/a.blend", for: .windows, maps: maps) == "P:\\shot\\a.blend")
        #expect(PathMapping.rewrite("/mnt/renders/shot/frame_####", for: .windows, maps: maps) == "\\\\nas\\renders\\shot\\frame_####")
        #expect(PathMapping.rewrite("/mnt/projects/shot/a.blend", for: .darwin, maps: maps) == "/Volumes/projects/shot/a.blend")
    }

    @Test func windowsPathsMatchWhateverTheCaseAndSlashes() {
        #expect(PathMapping.rewrite("p:/Shot/a.blend", for: .linux, maps: maps) == "/mnt/projects/Shot/a.blend")
        #expect(PathMapping.rewrite("P:\\Shot\\a.blend", for: .linux, maps: maps) == "/mnt/projects/Shot/a.blend")
        #expect(PathMapping.rewrite("\\\\NAS\\Renders\\x\\f.png", for: .linux, maps: maps) == "/mnt/renders/x/f.png")
    }

    @Test func theLongestPrefixWins() {
        #expect(PathMapping.rewrite("/mnt/projects/archive/old.blend", for: .windows, maps: maps) == "Q:\\archive\\old.blend")
    }

    @Test func pathsNoMapCoversAreSentUnchanged() {
        #expect(PathMapping.rewrite("/home/me/a.blend", for: .windows, maps: maps) == "/home/me/a.blend")
        #expect(PathMapping.rewrite("/mnt/projectsX/a.blend", for: .windows, maps: maps) == "/mnt/projectsX/a.blend", "only whole components match")
        #expect(PathMapping.rewrite("/mnt/renders/a.png", for: .darwin, maps: maps) == "/mnt/renders/a.png", "no darwin prefix in that map")
        #expect(PathMapping.rewrite("/mnt/projects/a.blend", for: .linux, maps: maps) == "/mnt/projects/a.blend")
    }

    @Test func platformsComeFromWhatWorkersReport() {
        #expect(PathPlatform(clientPlatform: "linux-x86_64") == .linux)
        #expect(PathPlatform(clientPlatform: "darwin-arm64") == .darwin)
        #expect(PathPlatform(clientPlatform: "windows-x86_64") == .windows)
    }

    @Test func absolutePathsOnAnyPlatform() {
        for path in ["/a", "C:\\a", "c:/a", "\\\\nas\\share"] { #expect(PathMapping.isAbsolute(path), "\(path)") }
        for path in ["a/b", "C:a", "", "\\a"] { #expect(!PathMapping.isAbsolute(path), "\(path)") }
    }
}

@Suite struct CapabilityTests {
    func client(_ id: Int64, tags: [String] = [], capabilities: [String] = []) -> Client {
        var client = Client(id: id, name: "c\(id)", hostname: "h", platform: "linux", tags: tags, version: "t", registeredAt: 0, lastSeen: 0)
        client.capabilities = capabilities
        return client
    }

    func runtime(tags: [String] = [], video: Bool = false, blocklist: Blocklist = Blocklist(), kind: Job.Kind = .blender) -> JobRuntime {
        let job = Job(
            id: 1, name: "j", kind: kind, status: .queued, priority: 50, file: "/f", frames: "1", chunkSize: 1, output: "/o/#",
            format: "PNG", scene: nil, argv: [], tags: tags, maxAttempts: 3, createdAt: 0)
        var tasks = [RenderTask(id: 1, jobID: 1, chunk: FrameChunk(start: 1, end: 1))]
        if video { tasks.append(RenderTask(id: 2, jobID: 1, chunk: FrameChunk(start: 1, end: 1), role: .video)) }
        return JobRuntime(job: job, tasks: tasks, blocklist: blocklist)
    }

    @Test func aFarmWithoutClientsWaitsForThem() {
        #expect(DispatchPolicy.whyNoClientCanRun(runtime(tags: ["gpu"]), clients: [Client]()) == nil)
    }

    @Test func noClientWithTheTagsIsSaid() throws {
        let why = try #require(DispatchPolicy.whyNoClientCanRun(runtime(tags: ["gpu"]), clients: [client(1, tags: ["cpu"])]))
        #expect(why.hasPrefix("no client has the tags gpu"))
        #expect(DispatchPolicy.whyNoClientCanRun(runtime(tags: ["gpu"]), clients: [client(1), client(2, tags: ["gpu", "x"])]) == nil)
    }

    @Test func everyCapableClientBlocklistedIsSaid() throws {
        var list = Blocklist()
        for _ in 0..<3 { list.recordFailure(on: 1) }
        let why = try #require(DispatchPolicy.whyNoClientCanRun(runtime(blocklist: list), clients: [client(1)]))
        #expect(why.contains("blocklisted (c1)") && why.contains("--clear-blocklist"))
        #expect(DispatchPolicy.whyNoClientCanRun(runtime(blocklist: list), clients: [client(1), client(2)]) == nil)
    }

    @Test func commandJobsGoOnlyToWorkersThatAllowThem() throws {
        let commands = runtime(kind: .command)
        #expect(!DispatchPolicy.canRun(commands, on: client(1)))
        #expect(DispatchPolicy.canRun(commands, on: client(2, capabilities: ["commands"])))
        #expect(DispatchPolicy.canRun(runtime(), on: client(1)), "Blender jobs need no permission")
        let why = try #require(DispatchPolicy.whyNoClientCanRun(commands, clients: [client(1), client(3, tags: ["gpu"])]))
        #expect(why.contains("--allow-commands"))
        #expect(DispatchPolicy.whyNoClientCanRun(commands, clients: [client(1), client(2, capabilities: ["commands"])]) == nil)
    }

    @Test func aVideoNeedsAClientWithFFmpeg() throws {
        let why = try #require(DispatchPolicy.whyNoClientCanRun(runtime(video: true), clients: [client(1)]))
        #expect(why.contains("ffmpeg"))
        #expect(DispatchPolicy.whyNoClientCanRun(runtime(video: true), clients: [client(1), client(2, capabilities: ["ffmpeg"])]) == nil)
    }
}
