import FarmCore
import Foundation
import Logging

extension Farm {
    /// Registers a worker.
    ///
    /// Its key finds its record: a restart of the same worker re-attaches. A name that another
    /// worker holds is refused while that worker is online, with who holds it; a worker whose
    /// name was not given gets the first free `NAME-2`, `NAME-3`, ... instead. An offline
    /// record's name is taken over, and its old worker is refused from then on.
    public func register(_ registration: WorkerProtocol.Registration) throws(APIError) -> WorkerProtocol.Registered {
        try answering { () throws(FarmError) in try registerWorker(registration) }
    }

    func registerWorker(_ registration: WorkerProtocol.Registration) throws(FarmError) -> WorkerProtocol.Registered {
        let schema = Client.schema
        guard FieldType.isValidName(registration.name) else {
            throw FarmError.invalid("'\(registration.name)' is not a valid client name; expected \(FieldType.name.summary)", field: "name")
        }
        let tags = try registration.tags.map { tags throws(FarmError) in
            do throws(APIError) {
                return try schema.value(.array(tags.map(JSONValue.string)), for: schema.field("tags")!, path: "tags").arrayValue!.compactMap(
                    \.stringValue)
            } catch {
                throw FarmError.invalid(error.message, field: error.field)
            }
        }
        let digest = Client.keyDigest(registration.key)
        if let id = clientIDsByKey[digest], clients[id] != nil {
            return try reattach(id, registration, keyDigest: digest, tags: tags, takeover: false)
        }
        if let revoked = try writeThrough({ try store.revocation(ofWorkerKey: digest) }) {
            throw FarmError.forbidden(
                "this worker's credential was revoked when its client \(revoked.clientID) (\(revoked.name)) was deleted at \(Timestamp.format(revoked.revokedAt)); to let this machine join again, delete worker.key in its state directory and start it with the join token",
                field: "key")
        }
        var name = registration.name
        if let id = clientIDsByName[name], let holder = clients[id] {
            if holder.connection == .offline || holder.keyDigest.isEmpty {
                return try reattach(id, registration, keyDigest: digest, tags: tags, takeover: true)
            }
            guard !registration.nameGiven, let free = freeName(like: name) else {
                throw FarmError.conflict(
                    "the name '\(name)' belongs to another worker that is online: client \(id) on host \(holder.hostname) (pid \(holder.pid)), last heard \(Timestamp.format(holder.lastSeen)); give this worker another --name, or stop the other one",
                    field: "name")
            }
            name = free
        }
        let time = now()
        var client = Client(
            id: 0, name: name, hostname: registration.hostname, platform: registration.platform, tags: tags ?? [],
            version: registration.version, registeredAt: time, lastSeen: time, keyDigest: digest, pid: registration.pid)
        client.timeZone = registration.timeZone
        client.capabilities = registration.capabilities
        client.slots = registration.slots
        let fresh = client
        client.id = try writeThrough { try store.insertClient(fresh) }
        clients[client.id] = client
        clientIDsByName[client.name] = client.id
        clientIDsByKey[client.keyDigest] = client.id
        verifiedKeys[client.id] = registration.key
        logger.info(
            "client registered",
            metadata: ["client": "\(client.id)", "name": "\(client.name)", "host": "\(client.hostname)", "pid": "\(client.pid)"])
        announce(client: client.id)
        return .init(clientID: client.id, name: client.name, heartbeatInterval: options.heartbeatInterval)
    }

    /// A worker takes up a known record: its own (restarted), or an offline one of its name.
    private func reattach(
        _ id: Int64, _ registration: WorkerProtocol.Registration, keyDigest: String, tags: [String]?, takeover: Bool
    ) throws(FarmError) -> WorkerProtocol.Registered {
        let previous = clients[id]!
        let worker = WorkerDescription(
            hostname: registration.hostname, platform: registration.platform, version: registration.version, tags: tags, keyDigest: keyDigest,
            pid: registration.pid, timeZone: registration.timeZone, capabilities: registration.capabilities, slots: registration.slots)
        // Long polls of the process it replaces end first: none of them may be handed a task.
        endWait(clientID: id)
        // A worker that registers runs nothing: whatever the record ran goes back, in the
        // transaction that attaches the worker.
        try change { batch throws(FarmError) in
            _ = try apply(
                .attach(worker), toClient: id, handBackReason: takeover ? "another worker took over its client's name" : "its worker restarted",
                in: batch)
        }
        let updated = clients[id]!
        clientIDsByKey[previous.keyDigest] = nil
        clientIDsByKey[updated.keyDigest] = id
        verifiedKeys[id] = registration.key
        if takeover && !previous.keyDigest.isEmpty {
            logger.warning(
                "client taken over by another worker process",
                metadata: [
                    "client": "\(id)", "name": "\(updated.name)", "old_host": "\(previous.hostname)", "old_pid": "\(previous.pid)",
                    "host": "\(updated.hostname)", "pid": "\(updated.pid)",
                ])
        } else {
            logger.info("client online", metadata: ["client": "\(id)", "name": "\(updated.name)", "reattached": "true"])
        }
        // (Its new record was published with the change.)
        return .init(clientID: id, name: updated.name, heartbeatInterval: options.heartbeatInterval)
    }

    /// The first of `NAME-2` ... `NAME-99` that no client has.
    private func freeName(like name: String) -> String? {
        (2...99).lazy.map { "\(name.prefix(FieldType.maxNameLength - 3))-\($0)" }.first { clientIDsByName[$0] == nil }
    }

    /// Checks that a worker request comes from the process that holds the client record, and
    /// records that it was heard from. A request is proof of life: an offline client comes back
    /// online, and work waiting in the queue can go to it at once.
    @discardableResult
    func authenticate(_ sender: WorkerProtocol.Sender) throws(FarmError) -> Client {
        guard var client = clients[sender.clientID] else {
            throw FarmError.notFound("client \(sender.clientID) is not registered; register again", field: "client_id")
        }
        // The key's digest is worked out once per worker process, not on every request.
        if verifiedKeys[client.id] != sender.key {
            guard client.keyDigest == Client.keyDigest(sender.key) else {
                throw FarmError.conflict(
                    "client \(client.id) (\(client.name)) is now held by another worker process, on host \(client.hostname) (pid \(client.pid)); this process must stop, or run with another --name",
                    field: "key")
            }
            verifiedKeys[client.id] = sender.key
        }
        let heard = ClientLifecycle.apply(.heard, to: client, at: now())
        if heard.needsWrite {
            try change { batch throws(FarmError) in replaceClient(heard.client, in: batch) }
        } else {
            clients[client.id] = heard.client
        }
        client = heard.client
        if heard.connectionChanged {
            // Published with the change that wrote it; work waiting may go to it now.
            logger.info("client online", metadata: ["client": "\(client.id)", "name": "\(client.name)", "reason": "heard from again"])
            dispatchToWaiters()
        }
        return client
    }

    /// Records a heartbeat (persisting when the client was last seen).
    public func heartbeat(_ sender: WorkerProtocol.Sender) throws(APIError) -> WorkerProtocol.HeartbeatReply {
        try answering { () throws(FarmError) in
            let client = try authenticate(sender)
            let seen = client.lastSeen
            try writeThrough { try store.touchClient(id: client.id, lastSeen: seen) }
            return .init(heartbeatInterval: options.heartbeatInterval)
        }
    }

    /// A worker says it is stopping.
    public func signOff(_ sender: WorkerProtocol.Sender) throws(APIError) {
        try answering { () throws(FarmError) in try signOffWorker(sender) }
    }

    private func signOffWorker(_ sender: WorkerProtocol.Sender) throws(FarmError) {
        let client = try authenticate(sender)
        // The client goes offline in the transaction that hands back its tasks.
        try change { batch throws(FarmError) in _ = try apply(.signOff, toClient: client.id, handBackReason: "its worker signed off", in: batch) }
        endWait(clientID: client.id)
        logger.info("client offline", metadata: ["client": "\(client.id)", "name": "\(client.name)", "reason": "signed off"])
    }

    /// The server itself did not run for `seconds` (stopped, frozen, or starved of CPU): its
    /// workers could not be heard then, so each gets a full timeout again from now.
    public func countSilenceFromNow(afterPause seconds: Double) {
        silenceCountedFrom = now()
        logger.warning(
            "the server did not run for \(Int(seconds)) s; worker silence is counted from now", metadata: ["pause_seconds": "\(Int(seconds))"])
    }

    /// Marks offline every online client not heard from within the worker timeout, and puts the
    /// tasks they ran back in the queue (a worker that comes back before anyone else takes such a
    /// task keeps it: the lease decides).
    ///
    /// Silence is counted from no earlier than start-up, or the end of a pause of the server
    /// itself (``countSilenceFromNow(afterPause:)``).
    /// - Returns: the ids it marked offline.
    @discardableResult
    public func sweepTimedOutWorkers() -> [Int64] {
        let time = now()
        let deadline = time - options.workerTimeout
        let silent = clients.values.filter { $0.connection == .online && max($0.lastSeen, silenceCountedFrom) < deadline }.map(\.id).sorted()
        var timedOut: [Int64] = []
        for id in silent {
            let name = clients[id]?.name ?? "?"
            let reason = "its worker \(name) went offline (not heard from for \(Int(options.workerTimeout)) s)"
            // Each client goes offline in the transaction that hands back its tasks.
            do {
                try change { batch throws(FarmError) in _ = try apply(.silent, toClient: id, handBackReason: reason, in: batch) }
            } catch {
                continue  // logged by writeThrough; the next sweep tries again
            }
            timedOut.append(id)
            endWait(clientID: id)
            logger.info("client offline", metadata: ["client": "\(id)", "name": "\(name)", "reason": "no heartbeat"])
        }
        return timedOut
    }
}
