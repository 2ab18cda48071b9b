import Postgres

/// The tables of the PostgreSQL store, created on first start. Idempotent: every engine runs it at start,
/// under an advisory lock so two engines starting together do not race on `CREATE TABLE`.
///
/// - `switchboard_head`: one row; `last_seq` is the deployment's last `seq` and its row lock is what
///   serialises batches; `journal_id` names the journal in every `event_id`, the same on every engine.
/// - `switchboard_events`: the journal, one row per `seq`, the event's JSON verbatim.
/// - `switchboard_keys`: idempotency keys: the request's digest and the `seq` that answered it.
/// - `switchboard_sessions`: playbook sessions as JSON; `revision` is the `last_seq` of the batch that
///   last changed the session, so an engine reads only what changed since its previous batch.
/// - `switchboard_operations`: one row, the CTI-incident flag.
enum PostgresSchema {
    /// Bumped (with a migration step) whenever a table changes; never edit a shipped step.
    static let version = 1
    static let advisoryLock = "7358290017"

    static let statements = """
        CREATE TABLE IF NOT EXISTS switchboard_head (
            id int PRIMARY KEY CHECK (id = 1),
            last_seq bigint NOT NULL,
            journal_id text NOT NULL,
            schema_version int NOT NULL
        );
        CREATE TABLE IF NOT EXISTS switchboard_events (
            seq bigint PRIMARY KEY,
            event text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS switchboard_keys (
            key text PRIMARY KEY,
            digest text NOT NULL,
            seq bigint NOT NULL,
            stored_at bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS switchboard_keys_stored_at ON switchboard_keys (stored_at);
        CREATE TABLE IF NOT EXISTS switchboard_sessions (
            key text PRIMARY KEY,
            revision bigint NOT NULL,
            session text NOT NULL
        );
        CREATE INDEX IF NOT EXISTS switchboard_sessions_revision ON switchboard_sessions (revision);
        CREATE TABLE IF NOT EXISTS switchboard_operations (
            id int PRIMARY KEY CHECK (id = 1),
            cti_incident boolean NOT NULL
        );
        INSERT INTO switchboard_operations VALUES (1, false) ON CONFLICT (id) DO NOTHING;
        """

    /// Creates what is missing; returns the journal id (made once, by whichever engine starts first).
    static func prepare(_ db: PostgresConnection, newJournalID: String) throws -> String {
        try db.transaction { db in
            try db.execute("SELECT pg_advisory_xact_lock(\(advisoryLock))")
            try db.execute(statements)
            try db.execute("INSERT INTO switchboard_head VALUES (1, 0, $1, $2) ON CONFLICT (id) DO NOTHING", [newJournalID, String(version)])
            let head = try db.execute("SELECT journal_id, schema_version FROM switchboard_head WHERE id = 1")
            guard let id = head.value(0, "journal_id"), let v = head.value(0, "schema_version").flatMap(Int.init), v <= version else {
                throw PostgresError(.client, message: "the database holds a newer Switchboard schema (\(head.value(0, "schema_version") ?? "?")) than this engine knows (\(version)); upgrade the engine")
            }
            return id
        }
    }
}
