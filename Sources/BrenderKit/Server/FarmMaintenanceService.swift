import Logging
import ServiceLifecycle

/// Runs the farm's periodic work (timing out silent workers) for as long as the server runs.
struct FarmMaintenanceService: Service {
    let farm: Farm
    let interval: Duration

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            await farm.sweepTimedOutWorkers()
        }
    }
}
