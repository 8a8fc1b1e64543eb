-- newswatch schema, version 1.
-- Times are Unix seconds (UTC). The schema is defined here only; refinery applies it at start-up
-- and records the version in refinery_schema_history.

-- One row per configured source, keyed by its name (a source's URL may change).
CREATE TABLE sources (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL UNIQUE,
    url                  TEXT    NOT NULL,
    last_attempt         INTEGER,
    last_success         INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    items_seen           INTEGER NOT NULL DEFAULT 0,
    items_matched        INTEGER NOT NULL DEFAULT 0
);

-- One row per story, however many sources carried it.
-- state: 'stored' (kept, not for mailing), 'queued' (matched, waiting for a digest), 'sent'.
-- claim/claimed_at: a digest being sent holds its stories so that a second process cannot send them too.
CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL,
    link          TEXT,
    dedup_key     TEXT,
    body          TEXT    NOT NULL,
    published     INTEGER,
    first_seen    INTEGER NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'stored' CHECK (state IN ('stored', 'queued', 'sent')),
    snippet       TEXT,
    snippet_marks TEXT,
    claim         TEXT,
    claimed_at    INTEGER,
    sent_at       INTEGER
);
-- No partial indexes on this table: SQLite compiles a statement with a bound parameter anew on
-- every run when the table has one, and the dedup lookup runs for every new entry.
CREATE INDEX items_by_dedup_key ON items (dedup_key);
CREATE INDEX items_by_state ON items (state);

-- Every (source, GUID) ever seen, pointing at the story it belongs to.
CREATE TABLE sightings (
    source_id  INTEGER NOT NULL REFERENCES sources (id),
    guid       TEXT    NOT NULL,
    item_id    INTEGER NOT NULL REFERENCES items (id),
    link       TEXT,
    title      TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (source_id, guid)
);
CREATE INDEX sightings_by_item ON sightings (item_id);

-- Which topics (and which of their keywords) a queued story matched, as decided when it was stored.
CREATE TABLE matches (
    item_id  INTEGER NOT NULL REFERENCES items (id),
    topic    TEXT    NOT NULL,
    keywords TEXT    NOT NULL, -- newline-separated
    PRIMARY KEY (item_id, topic)
);

-- One row per digest sent (or attempted).
CREATE TABLE digests (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    stories    INTEGER NOT NULL,
    message_id TEXT,
    error      TEXT
);

-- Small daemon state, e.g. the last digest time slot handled.
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
