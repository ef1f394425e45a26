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
        Migration(
            version: 2, name: "jobs and tasks",
            sql: """
                CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('blender', 'command')),
                    status TEXT NOT NULL CHECK (status IN ('queued', 'active', 'paused', 'completed', 'failed', 'canceled')),
                    priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 100),
                    file TEXT NOT NULL,
                    frames TEXT NOT NULL,
                    chunk_size INTEGER NOT NULL CHECK (chunk_size >= 1),
                    output TEXT NOT NULL,
                    format TEXT NOT NULL,
                    scene TEXT,
                    argv TEXT NOT NULL DEFAULT '[]',
                    tags TEXT NOT NULL DEFAULT '',
                    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL
                );
                CREATE TABLE tasks (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    frame_start INTEGER NOT NULL,
                    frame_end INTEGER NOT NULL,
                    frame_step INTEGER NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'active', 'completed', 'failed', 'canceled')),
                    client_id INTEGER NOT NULL DEFAULT 0,
                    lease INTEGER NOT NULL DEFAULT 0,
                    failures INTEGER NOT NULL DEFAULT 0,
                    frames_done INTEGER NOT NULL DEFAULT 0,
                    started_at REAL NOT NULL DEFAULT 0,
                    finished_at REAL NOT NULL DEFAULT 0,
                    error TEXT,
                    failed_on TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX tasks_by_job ON tasks (job_id);
                """),
        Migration(
            version: 3, name: "client activity is derived from running tasks",
            sql: """
                ALTER TABLE clients DROP COLUMN activity;
                """),
        Migration(
            version: 4, name: "each client record belongs to one worker process: its key and pid",
            sql: """
                ALTER TABLE clients ADD COLUMN worker_key TEXT NOT NULL DEFAULT '';
                ALTER TABLE clients ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
                """),
        Migration(
            version: 5, name: "production scheduling: dependencies, failure policy, time limits, blocklists, video, schedules, path maps",
            sql: """
                CREATE TABLE jobs_new (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('blender', 'command')),
                    status TEXT NOT NULL CHECK (status IN ('waiting', 'queued', 'active', 'paused', 'completed', 'failed', 'canceled')),
                    priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 100),
                    file TEXT NOT NULL,
                    frames TEXT NOT NULL,
                    chunk_size INTEGER NOT NULL CHECK (chunk_size >= 1),
                    output TEXT NOT NULL,
                    format TEXT NOT NULL,
                    scene TEXT,
                    argv TEXT NOT NULL DEFAULT '[]',
                    tags TEXT NOT NULL DEFAULT '',
                    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL,
                    after TEXT NOT NULL DEFAULT '',
                    fail_fast INTEGER NOT NULL DEFAULT 0,
                    task_timeout REAL NOT NULL DEFAULT 0,
                    blocklist_threshold INTEGER NOT NULL DEFAULT 3 CHECK (blocklist_threshold >= 1),
                    reason TEXT,
                    video TEXT,
                    settings_source TEXT NOT NULL DEFAULT 'submitted'
                );
                INSERT INTO jobs_new (id, name, kind, status, priority, file, frames, chunk_size, output, format, scene, argv, tags,
                    max_attempts, created_at, started_at, finished_at)
                SELECT id, name, kind, status, priority, file, frames, chunk_size, output, format, scene, argv, tags,
                    max_attempts, created_at, started_at, finished_at FROM jobs;
                CREATE TABLE tasks_new (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    job_id INTEGER NOT NULL REFERENCES jobs_new(id) ON DELETE CASCADE,
                    frame_start INTEGER NOT NULL,
                    frame_end INTEGER NOT NULL,
                    frame_step INTEGER NOT NULL,
                    role TEXT NOT NULL DEFAULT 'render' CHECK (role IN ('render', 'video')),
                    status TEXT NOT NULL CHECK (status IN ('queued', 'active', 'completed', 'failed', 'canceled')),
                    client_id INTEGER NOT NULL DEFAULT 0,
                    lease INTEGER NOT NULL DEFAULT 0,
                    failures INTEGER NOT NULL DEFAULT 0,
                    frames_done INTEGER NOT NULL DEFAULT 0,
                    started_at REAL NOT NULL DEFAULT 0,
                    finished_at REAL NOT NULL DEFAULT 0,
                    error TEXT,
                    failed_on TEXT NOT NULL DEFAULT ''
                );
                INSERT INTO tasks_new (id, job_id, frame_start, frame_end, frame_step, status, client_id, lease, failures,
                    frames_done, started_at, finished_at, error, failed_on)
                SELECT id, job_id, frame_start, frame_end, frame_step, status, client_id, lease, failures,
                    frames_done, started_at, finished_at, error, failed_on FROM tasks;
                DROP TABLE tasks;
                DROP TABLE jobs;
                ALTER TABLE jobs_new RENAME TO jobs;
                ALTER TABLE tasks_new RENAME TO tasks;
                CREATE INDEX tasks_by_job ON tasks (job_id);
                CREATE TABLE job_blocklist (
                    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    client_id INTEGER NOT NULL,
                    failures INTEGER NOT NULL CHECK (failures >= 1),
                    PRIMARY KEY (job_id, client_id)
                ) WITHOUT ROWID;
                CREATE TABLE path_maps (
                    name TEXT PRIMARY KEY,
                    linux TEXT NOT NULL DEFAULT '',
                    darwin TEXT NOT NULL DEFAULT '',
                    windows TEXT NOT NULL DEFAULT ''
                );
                ALTER TABLE clients ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
                ALTER TABLE clients ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
                ALTER TABLE clients ADD COLUMN capabilities TEXT NOT NULL DEFAULT '';
                """),
        Migration(
            version: 6, name: "who submitted a job; the keys of deleted clients, revoked",
            sql: """
                ALTER TABLE jobs ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
                CREATE TABLE revoked_worker_keys (
                    worker_key TEXT PRIMARY KEY,
                    client_id INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    revoked_at REAL NOT NULL
                ) WITHOUT ROWID;
                """),
        Migration(
            version: 7, name: "jobs that start Blender afresh for every task",
            sql: """
                ALTER TABLE jobs ADD COLUMN cold INTEGER NOT NULL DEFAULT 0;
                """),
        Migration(
            version: 8, name: "the Blender version a job asks for",
            sql: """
                ALTER TABLE jobs ADD COLUMN blender_version TEXT;
                """),
        Migration(
            version: 9, name: "jobs that run the Python in their .blend files",
            sql: """
                ALTER TABLE jobs ADD COLUMN allow_scripts INTEGER NOT NULL DEFAULT 0;
                """),
        Migration(
            version: 10, name: "clients that run several tasks at once (slots)",
            sql: """
                ALTER TABLE clients ADD COLUMN slots INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE tasks ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
                """),
        Migration(
            version: 11, name: "a big job's delete or cancel, committed first and written out in parts",
            sql: """
                CREATE TABLE job_changes_in_parts (
                    job_id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('delete', 'cancel')),
                    reason TEXT NOT NULL DEFAULT '',
                    at REAL NOT NULL DEFAULT 0
                );
                """),
    ]

    public static let migrator = Migrator(migrations: migrations)
}
