import FarmCore
import Foundation

/// brender's durable state in SQLite: the write-through half of the farm.
///
/// The farm keeps its working state in memory and calls the store inside a transaction before it
/// changes memory or answers a request, so an acknowledged change survives a crash.
public final class FarmStore {
    public let database: SQLiteDatabase

    /// Opens the database at `path`, applying missing migrations.
    public init(path: String, synchronous: SQLiteDatabase.SynchronousMode = .normal) throws {
        database = try SQLiteDatabase(path: path, synchronous: synchronous)
        try FarmSchema.migrator.migrate(database)
    }

    /// Runs `body` in one transaction.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(body)
    }

    /// Flushes the WAL into the database file and closes the connection.
    public func close() {
        try? database.checkpoint()
        database.close()
    }

    // MARK: Clients

    private static let clientColumns =
        "id, name, hostname, platform, tags, status, connection, version, registered_at, last_seen, worker_key, pid, schedule, time_zone, capabilities, slots"

    /// Every client; each is idle until the farm finds the tasks it runs (activity is not stored).
    public func loadClients() throws -> [Client] {
        try database.query("SELECT \(Self.clientColumns) FROM clients ORDER BY id") { row in
            let id = row.int64(0)
            var client = Client(
                id: id, name: row.string(1), hostname: row.string(2), platform: row.string(3),
                tags: row.string(4).split(separator: ",").map(String.init),
                status: try StoreError.known(row.string(5), table: "clients", row: id, column: "status"),
                connection: try StoreError.known(row.string(6), table: "clients", row: id, column: "connection"),
                version: row.string(7), registeredAt: row.double(8), lastSeen: row.double(9), keyDigest: row.string(10), pid: Int32(row.int(11)))
            let schedule = row.string(12)
            if !schedule.isEmpty {
                guard let hours = try? WorkingHours(parsing: schedule) else {
                    throw StoreError.unknownValue(table: "clients", row: id, column: "schedule", value: schedule)
                }
                client.schedule = hours
            }
            client.timeZone = row.string(13)
            client.capabilities = row.string(14).split(separator: ",").map(String.init)
            client.slots = max(1, row.int(15))
            return client
        }
    }

    /// Inserts a new client and returns the id the database gave it.
    public func insertClient(_ client: Client) throws -> Int64 {
        try database.run(
            """
            INSERT INTO clients (name, hostname, platform, tags, status, connection, version, registered_at, last_seen, worker_key, pid,
                schedule, time_zone, capabilities, slots)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
            """,
            [
                .text(client.name), .text(client.hostname), .text(client.platform), .text(client.tags.joined(separator: ",")),
                .text(client.status.rawValue), .text(client.connection.rawValue), .text(client.version), .real(client.registeredAt),
                .real(client.lastSeen), .text(client.keyDigest), .integer(Int64(client.pid)), .text(client.schedule?.description ?? ""),
                .text(client.timeZone), .text(client.capabilities.joined(separator: ",")), .integer(Int64(client.slots)),
            ])
        return database.lastInsertRowID
    }

    /// Writes every stored column of an existing client.
    public func updateClient(_ client: Client) throws {
        try database.run(
            """
            UPDATE clients SET name = ?2, hostname = ?3, platform = ?4, tags = ?5, status = ?6, connection = ?7,
                version = ?8, last_seen = ?9, worker_key = ?10, pid = ?11, schedule = ?12, time_zone = ?13, capabilities = ?14,
                slots = ?15
            WHERE id = ?1
            """,
            [
                .integer(client.id), .text(client.name), .text(client.hostname), .text(client.platform),
                .text(client.tags.joined(separator: ",")), .text(client.status.rawValue), .text(client.connection.rawValue),
                .text(client.version), .real(client.lastSeen), .text(client.keyDigest), .integer(Int64(client.pid)),
                .text(client.schedule?.description ?? ""), .text(client.timeZone), .text(client.capabilities.joined(separator: ",")),
                .integer(Int64(client.slots)),
            ])
    }

    /// Records that a worker was heard from.
    public func touchClient(id: Int64, lastSeen: Double) throws {
        try database.run("UPDATE clients SET last_seen = ?2 WHERE id = ?1", [.integer(id), .real(lastSeen)])
    }

    public func deleteClient(id: Int64) throws {
        try database.run("DELETE FROM clients WHERE id = ?1", [.integer(id)])
    }

    /// Records that a deleted client's key (its digest) may not register again.
    public func revokeWorkerKey(_ key: String, clientID: Int64, name: String, at time: Double) throws {
        try database.run(
            "INSERT OR REPLACE INTO revoked_worker_keys (worker_key, client_id, name, revoked_at) VALUES (?1, ?2, ?3, ?4)",
            [.text(key), .integer(clientID), .text(name), .real(time)])
    }

    /// The client a revoked key belonged to, and when it was revoked; nil for a key never revoked.
    public func revocation(ofWorkerKey key: String) throws -> (clientID: Int64, name: String, revokedAt: Double)? {
        try database.query("SELECT client_id, name, revoked_at FROM revoked_worker_keys WHERE worker_key = ?1", [.text(key)]) { row in
            (row.int64(0), row.string(1), row.double(2))
        }.first
    }
}

extension FarmStore {
    // MARK: Path maps

    public func loadPathMaps() throws -> [PathMap] {
        try database.query("SELECT name, linux, darwin, windows FROM path_maps ORDER BY name") { row in
            PathMap(name: row.string(0), prefixes: [.linux: row.string(1), .darwin: row.string(2), .windows: row.string(3)])
        }
    }

    /// Inserts or replaces a path map.
    public func savePathMap(_ map: PathMap) throws {
        try database.run(
            "INSERT OR REPLACE INTO path_maps (name, linux, darwin, windows) VALUES (?1, ?2, ?3, ?4)",
            [.text(map.name), .text(map.prefixes[.linux] ?? ""), .text(map.prefixes[.darwin] ?? ""), .text(map.prefixes[.windows] ?? "")])
    }

    public func deletePathMap(name: String) throws {
        try database.run("DELETE FROM path_maps WHERE name = ?1", [.text(name)])
    }
}
