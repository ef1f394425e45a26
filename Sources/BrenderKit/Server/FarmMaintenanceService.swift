import Logging
import ServiceLifecycle

/// Runs the farm's periodic work for as long as the server runs: timing out silent workers,
/// stopping tasks past their job's time limit, handing work to clients whose working hours
/// ended, checking for space after the disk filled up (and writing out a big delete or cancel
/// the full disk held up), and checking the farm's invariants. Each
/// round ends with a systemd watchdog ping (the farm answered, so the server is alive) and now
/// and then a status line.
struct FarmMaintenanceService: Service {
    let farm: Farm
    let interval: Duration
    var notifier = SystemdNotifier()
    /// How often `systemctl status` gets a new line.
    var statusInterval: Duration = .seconds(10)
    /// How often the invariants are checked.
    var invariantInterval: Duration = .seconds(30)
    /// How often storage is checked after the disk filled up.
    var storageInterval: Duration = .seconds(2)
    /// How often the database file is checked (`PRAGMA quick_check`), after the check at start.
    var healthInterval: Duration = .seconds(86_400)

    /// A sleep that overran by more than this means the server itself did not run meanwhile.
    var pauseThreshold: Duration = .seconds(3)

    func run() async throws {
        await farm.checkDatabaseHealth()
        await farm.writeChangesInParts()
        await farm.repairInvariants()
        let clock = ContinuousClock()
        var lastHealthCheck = clock.now
        var lastInvariantCheck = clock.now
        var lastStorageCheck = clock.now
        var lastStatus: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let before = clock.now
            try? await Task.sleep(for: interval)
            let slept = clock.now - before
            if slept > interval + pauseThreshold {
                await farm.countSilenceFromNow(afterPause: slept.inSeconds)
            }
            await farm.sweepTimedOutWorkers()
            await farm.stopOverdueTasks()
            await farm.dispatchToWaiters()
            if clock.now - lastStorageCheck >= storageInterval {
                lastStorageCheck = clock.now
                await farm.checkStorage()
            }
            if clock.now - lastInvariantCheck >= invariantInterval {
                lastInvariantCheck = clock.now
                await farm.repairInvariants()
            }
            if clock.now - lastHealthCheck >= healthInterval {
                lastHealthCheck = clock.now
                await farm.checkDatabaseHealth()
            }
            if notifier.isActive {
                if notifier.watchdogInterval != nil { notifier.watchdog() }
                if lastStatus.map({ clock.now - $0 >= statusInterval }) ?? true {
                    lastStatus = clock.now
                    notifier.status(await farm.statusLine())
                }
            }
        }
    }
}
