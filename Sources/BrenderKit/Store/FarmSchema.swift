/// The numbered migrations of brender's database. Append only: never edit a released one.
public enum FarmSchema {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "clients",
            sql: """
                CREATE TABLE clients (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    hostname TEXT NOT NULL,
                    platform TEXT NOT NULL,
                    tags TEXT NOT NULL DEFAULT '',
                    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
                    connection TEXT NOT NULL CHECK (connection IN ('online', 'offline')),
                    activity TEXT NOT NULL CHECK (activity IN ('idle', 'busy')),
                    version TEXT NOT NULL,
                    registered_at REAL NOT NULL,
                    last_seen REAL NOT NULL
                );
                """),
    ]

    public static let migrator = Migrator(migrations: migrations)
}
