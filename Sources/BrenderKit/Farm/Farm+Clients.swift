import FarmCore
import Foundation
import Logging

extension Farm {
    func handleClientRequest(_ request: APIRequest) throws -> APIResponse {
        let schema = Client.schema
        try schema.checkAction(request.action)
        let filters = try schema.filterSet(request.filters)
        switch request.action {
        case "read":
            // Only the page is copied out of the farm: 100 clients of 10,000, not 10,000.
            let order = try ReadOrder(request, schema: schema)
            var ids = matchingClientIDs(filters)
            if order.search != nil || order.sort != nil { ids = order.arrange(ids) { clients[$0]!.value(of: $1) } }
            return APIResponse(items: page(ids, of: request).map { clients[$0]!.json }, total: ids.count)
        case "update":
            try requireFiltersOrAll(filters, request)
            let values = try schema.updateValues(request.values)
            return try updateClients(matchingClients(filters), values: values, now: request.now)
        case "delete":
            try requireFiltersOrAll(filters, request)
            return try deleteClients(matchingClients(filters), force: request.force)
        default:
            throw APIError(.unknownAction, "item 'client' has no action '\(request.action)'", field: "action")
        }
    }

    func matchingClients(_ filters: FilterSet) -> [Client] {
        matchingClientIDs(filters).map { clients[$0]! }
    }

    /// The ids of the clients that match, ascending. An id filter is a direct lookup; anything
    /// else looks at every client in memory, without copying one.
    func matchingClientIDs(_ filters: FilterSet) -> [Int64] {
        func matches(_ id: Int64) -> Bool {
            guard let client = clients[id] else { return false }
            return filters.isEmpty || filters.matches { client.value(of: $0) }
        }
        if let ids = filters.accepted("id") {
            return Set(ids.compactMap(\.intValue)).filter(matches).sorted()
        }
        return filters.isEmpty ? clients.keys.sorted() : clients.keys.filter(matches).sorted()
    }

    /// Changes clients. A client disabled while it runs a task lets the task finish (the
    /// answer says so), unless `now`: then the task is stopped and requeued.
    private func updateClients(_ matches: [Client], values: [String: JSONValue], now stopNow: Bool) throws(FarmError) -> APIResponse {
        if let newName = values["name"]?.stringValue {
            if matches.count > 1 {
                throw FarmError.conflict("cannot give \(matches.count) clients the same name '\(newName)'; filter one client", field: "values.name")
            }
            if let holder = clientIDsByName[newName], holder != matches.first?.id {
                throw FarmError.conflict("the name '\(newName)' is taken by client \(holder)", field: "values.name")
            }
        }
        var schedule: WorkingHours??
        if let text = values["schedule"]?.stringValue {
            do {
                schedule = .some(text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : try WorkingHours(parsing: text))
            } catch {
                throw error
            }
        }
        let status = values["status"]?.stringValue.flatMap(Client.Status.init(rawValue:))
        var changed: [Client] = []
        for var client in matches {
            let before = client
            if let name = values["name"]?.stringValue { client.name = name }
            if let tags = values["tags"]?.arrayValue { client.tags = tags.compactMap(\.stringValue) }
            if let schedule { client.schedule = schedule }
            if client != before || (status != nil && status != client.status) { changed.append(client) }
        }
        if values["tags"] != nil {
            try refuseStrandingJobs(withClients: changed, removing: [])
        }
        let before = Dictionary(uniqueKeysWithValues: changed.map { ($0.id, clients[$0.id]!) })
        // Disabled with --now, a client's tasks are stopped in the transaction that disables it.
        var stopped: [Int64: [Int64]] = [:]
        try change { batch throws(FarmError) in
            for client in changed {
                replaceClient(client, in: batch)
                guard let status else { continue }
                if status == .disabled && stopNow && !client.running.isEmpty { stopped[client.id] = client.runningTaskIDs }
                try apply(
                    status == .enabled ? .enable : .disable(now: stopNow), toClient: client.id,
                    handBackReason: "its client \(client.name) was disabled with --now", in: batch)
            }
        }
        for client in changed where before[client.id]!.name != client.name {
            clientIDsByName[before[client.id]!.name] = nil
            clientIDsByName[client.name] = client.id
        }
        for client in changed {
            logger.info(
                "client updated",
                metadata: ["client": "\(client.id)", "name": "\(client.name)", "status": "\(client.status.rawValue)"])
        }
        var items = changed.map { clients[$0.id]!.json }
        if values["status"] == "disabled" {
            for (offset, client) in changed.enumerated() {
                let running = stopped[client.id] ?? client.runningTaskIDs
                guard !running.isEmpty else { continue }
                let tasks = (running.count == 1 ? "task " : "tasks ") + running.map(String.init).joined(separator: ", ")
                if stopNow {
                    items[offset] = items[offset].adding("note", .string("\(tasks) \(running.count == 1 ? "was" : "were") stopped and requeued"))
                } else {
                    items[offset] = items[offset].adding(
                        "note",
                        .string(
                            "its running \(tasks) \(running.count == 1 ? "finishes" : "finish") first; --now stops and requeues \(running.count == 1 ? "it" : "them")"
                        ))
                }
            }
        }
        if changed.contains(where: { $0.status == .enabled }) || values["schedule"] != nil || values["tags"] != nil { dispatchToWaiters() }
        return APIResponse(items: items, total: matches.count)
    }

    /// Refuses a change of clients (new tags, or deletions) after which some unfinished job
    /// would have no client that could ever run it.
    private func refuseStrandingJobs(withClients changed: [Client], removing removed: Set<Int64>) throws(FarmError) {
        var after = clients
        for client in changed { after[client.id] = client }
        for id in removed { after[id] = nil }
        for jobID in jobIDs {
            guard let runtime = jobs[jobID], !runtime.job.status.isFinished,
                DispatchPolicy.whyNoClientCanRun(runtime, clients: clients.values) == nil,
                let why = DispatchPolicy.whyNoClientCanRun(runtime, clients: after.values)
            else { continue }
            throw FarmError.conflict(
                "after this change job \(jobID) would have no client to run it: \(why); cancel it first or keep a client for it",
                field: removed.isEmpty ? "values.tags" : "filters")
        }
    }

    private func deleteClients(_ matches: [Client], force: Bool) throws(FarmError) -> APIResponse {
        if !force, let online = matches.first(where: { $0.connection == .online }) {
            let count = matches.filter { $0.connection == .online }.count
            throw FarmError.conflict(
                "client \(online.id) (\(online.name)) is online\(count > 1 ? " (and \(count - 1) more)" : ""); stop its worker first or force the delete",
                field: "filters")
        }
        if !matches.isEmpty && matches.count < clients.count {
            try refuseStrandingJobs(withClients: [], removing: Set(matches.map(\.id)))
        }
        let time = now()
        // The clients go in the transaction that hands back their tasks.
        try change { batch throws(FarmError) in
            for client in matches {
                try handBackTasks(of: client.id, reason: "its client \(client.name) was deleted", in: batch)
                batch.writes.append { [self] in
                    try store.deleteClient(id: client.id)
                    // Its worker's credential dies with it: that worker cannot register again with it.
                    if !client.keyDigest.isEmpty {
                        try store.revokeWorkerKey(client.keyDigest, clientID: client.id, name: client.name, at: time)
                    }
                }
            }
        }
        for client in matches {
            clients[client.id] = nil
            clientIDsByName[client.name] = nil
            clientIDsByKey[client.keyDigest] = nil
            verifiedKeys[client.id] = nil
            endWait(clientID: client.id)
            logger.info("client deleted", metadata: ["client": "\(client.id)", "name": "\(client.name)"])
            announce(client: client.id)
        }
        return APIResponse(items: matches.map(\.json))
    }
}
