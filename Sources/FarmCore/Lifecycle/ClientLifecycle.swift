/// How a worker process describes itself when it takes up a client record.
public struct WorkerDescription: Sendable, Equatable {
    public var hostname: String
    public var platform: String
    public var version: String
    /// Nil keeps the record's tags (a worker started without `--tags`).
    public var tags: [String]?
    /// The digest of the process's key: every later request must carry that key.
    public var keyDigest: String
    public var pid: Int32
    public var timeZone: String
    public var capabilities: [String]
    public var slots: Int

    public init(
        hostname: String, platform: String, version: String, tags: [String]?, keyDigest: String, pid: Int32, timeZone: String,
        capabilities: [String], slots: Int
    ) {
        self.hostname = hostname
        self.platform = platform
        self.version = version
        self.tags = tags
        self.keyDigest = keyDigest
        self.pid = pid
        self.timeZone = timeZone
        self.capabilities = capabilities
        self.slots = slots
    }
}

/// Something that happens to a client. Its connection and status change only through these
/// (``ClientLifecycle``); its activity follows the tasks it runs.
public enum ClientEvent: Sendable, Equatable {
    /// A worker process takes up the record: its own after a restart, or an offline one of its
    /// name. A worker that registers runs nothing, so whatever the record ran goes back.
    case attach(WorkerDescription)
    /// A request from its worker: proof of life.
    case heard
    /// Its worker said it is stopping.
    case signOff
    /// Its worker was not heard from within the worker timeout. It may still be rendering: the
    /// tasks it hands back stay its own until someone else takes them.
    case silent
    /// An admin lets it take work.
    case enable
    /// An admin stops giving it work; with `now`, its running tasks are stopped too.
    case disable(now: Bool)

    /// How the tasks of a client go back to the queue.
    public enum HandBack: Sendable {
        /// Its worker runs them no more.
        case taken
        /// Its worker may still be running them (it only went silent) and may take them back
        /// while no one else has.
        case resumable
    }

    /// Whether the client's tasks go back to the queue, in the same transaction as the event.
    public var handsBackTasks: HandBack? {
        switch self {
        case .attach, .signOff, .disable(now: true): .taken
        case .silent: .resumable
        case .heard, .enable, .disable(now: false): nil
        }
    }
}

/// A client after an event.
public struct ClientTransition: Sendable {
    public var client: Client
    /// The client came online or went offline.
    public var connectionChanged: Bool
    /// Something stored changed (last seen alone is kept in memory until a heartbeat writes it;
    /// an attach is always written).
    public var needsWrite: Bool
}

/// The client lifecycle: connection (online, offline) and status (enabled, disabled) as one
/// value changed by ``ClientEvent``s. The farm hands back the tasks an event says to
/// (``ClientEvent/handsBackTasks``) before it applies the event, in one transaction.
public enum ClientLifecycle {
    public static func apply(_ event: ClientEvent, to client: Client, at time: Double) -> ClientTransition {
        var next = client
        switch event {
        case .attach(let worker):
            next.hostname = worker.hostname
            next.platform = worker.platform
            next.version = worker.version
            if let tags = worker.tags { next.tags = tags }
            next.keyDigest = worker.keyDigest
            next.pid = worker.pid
            next.timeZone = worker.timeZone
            next.capabilities = worker.capabilities
            next.slots = worker.slots
            next.connection = .online
            next.lastSeen = time
        case .heard:
            next.connection = .online
            next.lastSeen = time
        case .signOff, .silent:
            next.connection = .offline
        case .enable:
            next.status = .enabled
        case .disable:
            next.status = .disabled
        }
        let connectionChanged = next.connection != client.connection
        // Decided by the event, not by comparing whole records: hearing from a worker is on
        // the path of every request.
        let needsWrite =
            switch event {
            case .attach: true
            case .heard, .signOff, .silent: connectionChanged
            case .enable, .disable: next.status != client.status
            }
        return ClientTransition(client: next, connectionChanged: connectionChanged, needsWrite: needsWrite)
    }
}
