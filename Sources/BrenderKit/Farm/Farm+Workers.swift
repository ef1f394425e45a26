import Foundation
import Logging

extension Farm {
    /// Registers a worker: a known name re-attaches to its record, a new one creates a record.
    public func register(_ registration: WorkerProtocol.Registration) throws(APIError) -> WorkerProtocol.Registered {
        let schema = Client.schema
        guard FieldType.isValidName(registration.name) else {
            throw APIError(.invalidValue, "'\(registration.name)' is not a valid client name; expected \(FieldType.name.summary)", field: "name")
        }
        let tags = try registration.tags.map { tags throws(APIError) in
            try schema.value(.array(tags.map(JSONValue.string)), for: schema.field("tags")!, path: "tags").arrayValue!.compactMap(\.stringValue)
        }
        let time = now()
        if let id = clientIDsByName[registration.name], clients[id] != nil {
            // A worker that registers runs nothing: whatever it ran before it restarted goes back.
            try releaseLostTask(of: id)
            var client = clients[id]!
            client.hostname = registration.hostname
            client.platform = registration.platform
            client.version = registration.version
            if let tags { client.tags = tags }
            client.connection = .online
            client.activity = .idle
            client.lastSeen = time
            let updated = client
            try writeThrough { try store.updateClient(updated) }
            clients[id] = updated
            logger.info("client online", metadata: ["client": "\(id)", "name": "\(updated.name)", "reattached": "true"])
            return .init(clientID: id, name: updated.name, heartbeatInterval: options.heartbeatInterval)
        }
        var client = Client(
            id: 0, name: registration.name, hostname: registration.hostname, platform: registration.platform,
            tags: tags ?? [], version: registration.version, registeredAt: time, lastSeen: time)
        let fresh = client
        client.id = try writeThrough { try store.insertClient(fresh) }
        clients[client.id] = client
        clientIDsByName[client.name] = client.id
        logger.info("client registered", metadata: ["client": "\(client.id)", "name": "\(client.name)"])
        return .init(clientID: client.id, name: client.name, heartbeatInterval: options.heartbeatInterval)
    }

    /// Records a heartbeat; brings an offline client back online.
    public func heartbeat(clientID: Int64) throws(APIError) -> WorkerProtocol.HeartbeatReply {
        guard var client = clients[clientID] else {
            throw APIError(.notFound, "client \(clientID) is not registered; register again", field: "client_id")
        }
        client.lastSeen = now()
        if client.connection == .offline {
            client.connection = .online
            let updated = client
            try writeThrough { try store.updateClient(updated) }
            logger.info("client online", metadata: ["client": "\(clientID)", "name": "\(client.name)"])
        } else {
            let seen = client.lastSeen
            try writeThrough { try store.touchClient(id: clientID, lastSeen: seen) }
        }
        clients[clientID] = client
        return .init(heartbeatInterval: options.heartbeatInterval)
    }

    /// A worker says it is stopping.
    public func signOff(clientID: Int64) throws(APIError) {
        guard clients[clientID] != nil else {
            throw APIError(.notFound, "client \(clientID) is not registered", field: "client_id")
        }
        try releaseLostTask(of: clientID)
        var client = clients[clientID]!
        client.connection = .offline
        client.activity = .idle
        client.lastSeen = now()
        let updated = client
        try writeThrough { try store.updateClient(updated) }
        clients[clientID] = updated
        logger.info("client offline", metadata: ["client": "\(clientID)", "name": "\(client.name)", "reason": "signed off"])
    }

    /// Marks offline every online client not heard from within the worker timeout, and puts the
    /// tasks they ran back in the queue.
    /// - Returns: the ids it marked offline.
    @discardableResult
    public func sweepTimedOutWorkers() -> [Int64] {
        let time = now()
        let deadline = time - options.workerTimeout
        let silent = clients.values.filter { $0.connection == .online && max($0.lastSeen, startedAt) < deadline }.map(\.id)
        for id in silent {
            try? releaseLostTask(of: id)
        }
        var timedOut: [Client] = []
        for id in silent {
            guard let client = clients[id] else { continue }
            var updated = client
            updated.connection = .offline
            updated.activity = .idle
            timedOut.append(updated)
        }
        guard !timedOut.isEmpty else { return [] }
        do {
            try writeThrough {
                for client in timedOut { try store.updateClient(client) }
            }
        } catch {
            return []  // logged by writeThrough; the next sweep tries again
        }
        for client in timedOut {
            clients[client.id] = client
            logger.info("client offline", metadata: ["client": "\(client.id)", "name": "\(client.name)", "reason": "no heartbeat"])
        }
        return timedOut.map(\.id)
    }
}
