import Foundation
import Logging

extension Farm {
    func handleClientRequest(_ request: APIRequest) throws(APIError) -> APIResponse {
        let schema = Client.schema
        try schema.checkAction(request.action)
        let filters = try schema.filterSet(request.filters)
        switch request.action {
        case "read":
            let matches = matchingClients(filters)
            return APIResponse(items: page(matches, of: request).map(\.json), total: matches.count)
        case "update":
            try requireFiltersOrAll(filters, request)
            let values = try schema.updateValues(request.values)
            return try updateClients(matchingClients(filters), values: values)
        case "delete":
            try requireFiltersOrAll(filters, request)
            return try deleteClients(matchingClients(filters), force: request.force)
        default:
            throw APIError(.unknownAction, "item 'client' has no action '\(request.action)'", field: "action")
        }
    }

    func matchingClients(_ filters: FilterSet) -> [Client] {
        // An id filter is a direct lookup; everything else scans the (in-memory) clients.
        if let ids = filters.accepted("id") {
            return ids.compactMap { $0.intValue.flatMap { clients[$0] } }
                .filter { client in filters.matches { client.value(of: $0) } }
                .sorted { $0.id < $1.id }
        }
        return clients.values.filter { client in filters.matches { client.value(of: $0) } }.sorted { $0.id < $1.id }
    }

    private func updateClients(_ matches: [Client], values: [String: JSONValue]) throws(APIError) -> APIResponse {
        if let newName = values["name"]?.stringValue {
            if matches.count > 1 {
                throw APIError(.conflict, "cannot give \(matches.count) clients the same name '\(newName)'; filter one client", field: "values.name")
            }
            if let holder = clientIDsByName[newName], holder != matches.first?.id {
                throw APIError(.conflict, "the name '\(newName)' is taken by client \(holder)", field: "values.name")
            }
        }
        var changed: [Client] = []
        for var client in matches {
            let before = client
            if let status = values["status"]?.stringValue.flatMap(Client.Status.init(rawValue:)) { client.status = status }
            if let name = values["name"]?.stringValue { client.name = name }
            if let tags = values["tags"]?.arrayValue { client.tags = tags.compactMap(\.stringValue) }
            if client != before { changed.append(client) }
        }
        try writeThrough {
            for client in changed { try store.updateClient(client) }
        }
        for client in changed {
            let before = clients[client.id]!
            if before.name != client.name {
                clientIDsByName[before.name] = nil
                clientIDsByName[client.name] = client.id
            }
            clients[client.id] = client
            logger.info(
                "client updated",
                metadata: ["client": "\(client.id)", "name": "\(client.name)", "status": "\(client.status.rawValue)"])
        }
        if changed.contains(where: { $0.status == .enabled }) { dispatchToWaiters() }
        return APIResponse(items: changed.map(\.json), total: matches.count)
    }

    private func deleteClients(_ matches: [Client], force: Bool) throws(APIError) -> APIResponse {
        if !force, let online = matches.first(where: { $0.connection == .online }) {
            let count = matches.filter { $0.connection == .online }.count
            throw APIError(
                .conflict,
                "client \(online.id) (\(online.name)) is online\(count > 1 ? " (and \(count - 1) more)" : ""); stop its worker first or force the delete",
                field: "filters")
        }
        try writeThrough {
            for client in matches { try store.deleteClient(id: client.id) }
        }
        for client in matches {
            try? releaseLostTask(of: client.id, reason: "its client \(client.name) was deleted")
            clients[client.id] = nil
            clientIDsByName[client.name] = nil
            clientIDsByKey[client.key] = nil
            endWait(clientID: client.id)
            logger.info("client deleted", metadata: ["client": "\(client.id)", "name": "\(client.name)"])
        }
        return APIResponse(items: matches.map(\.json))
    }
}
