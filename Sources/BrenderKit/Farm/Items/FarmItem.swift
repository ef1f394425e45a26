import FarmCore

/// The `farm` item of the API: one record of the whole farm at a glance (what the dashboard's
/// overview and `brender status` show). Read-only.
enum FarmItem {
    public static let schema = ItemSchema(
        item: "farm",
        actions: ["read"],
        fields: [
            FieldSpec("clients_total", .integer(0...Int64.max), filterable: false, help: "Clients registered."),
            FieldSpec("clients_busy", .integer(0...Int64.max), filterable: false, help: "Online clients running a task."),
            FieldSpec("clients_idle", .integer(0...Int64.max), filterable: false, help: "Online clients with no task."),
            FieldSpec("clients_offline", .integer(0...Int64.max), filterable: false, help: "Clients not heard from within the worker timeout."),
            FieldSpec("clients_disabled", .integer(0...Int64.max), filterable: false, help: "Clients that take no new tasks."),
            FieldSpec("slots_online", .integer(0...Int64.max), filterable: false, help: "Slots of online clients: tasks they can run at once."),
            FieldSpec("slots_busy", .integer(0...Int64.max), filterable: false, help: "Slots of online clients running a task."),
        ]
            + JobStatus.allCases.map { status in
                FieldSpec("jobs_\(status.rawValue)", .integer(0...Int64.max), filterable: false, help: "Jobs \(status.rawValue).")
            } + [
                FieldSpec("tasks_active", .integer(0...Int64.max), filterable: false, help: "Tasks running now."),
                FieldSpec("frames_last_hour", .integer(0...Int64.max), filterable: false, help: "Frames rendered and verified in the last hour."),
                FieldSpec("frames_per_minute", .number, filterable: false, help: "Frames per minute over the last 10 minutes."),
            ]
    )
}

extension Farm {
    func handleFarmRequest(_ request: APIRequest) throws(APIError) -> APIResponse {
        try FarmItem.schema.checkAction(request.action)
        _ = try FarmItem.schema.filterSet(request.filters)
        _ = try ReadOrder(request, schema: FarmItem.schema)
        return APIResponse(items: [overview()])
    }

    /// The farm at a glance: clients by connection and activity, jobs by status, the rate.
    func overview() -> JSONValue {
        var object: [String: JSONValue] = [:]
        var busy = 0
        var idle = 0
        var offline = 0
        var disabled = 0
        for client in clients.values {
            if client.status == .disabled { disabled += 1 }
            switch (client.connection, client.activity) {
            case (.offline, _): offline += 1
            case (.online, .busy): busy += 1
            case (.online, .idle): idle += 1
            }
        }
        object["clients_total"] = .int(Int64(clients.count))
        object["clients_busy"] = .int(Int64(busy))
        object["clients_idle"] = .int(Int64(idle))
        object["clients_offline"] = .int(Int64(offline))
        object["clients_disabled"] = .int(Int64(disabled))
        let slots = slotUsage()
        object["slots_online"] = .int(Int64(slots.online))
        object["slots_busy"] = .int(Int64(slots.busy))
        var byStatus = [JobStatus: Int]()
        var active = 0
        for runtime in jobs.values {
            byStatus[runtime.job.status, default: 0] += 1
            active += runtime.count(.active)
        }
        for status in JobStatus.allCases { object["jobs_\(status.rawValue)"] = .int(Int64(byStatus[status] ?? 0)) }
        object["tasks_active"] = .int(Int64(active))
        let time = now()
        object["frames_last_hour"] = .int(Int64(throughput.frames(inLast: FrameThroughput.bucketCount, now: time)))
        object["frames_per_minute"] = .double((throughput.framesPerMinute(now: time) * 10).rounded() / 10)
        return .object(object)
    }
}
