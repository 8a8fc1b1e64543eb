-- Stories that group the coverage of one event by many outlets. Every entry (what one source
-- carried under one GUID) becomes a row of `entries` with its own time and vector, so that a
-- later entry can be compared with it, and a stable id the story's lead can point at;
-- `sightings` had neither. A story (`items`) keeps its id whatever joins it.
CREATE TABLE entries (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES sources (id),
    guid       TEXT    NOT NULL,
    item_id    INTEGER NOT NULL REFERENCES items (id),
    link       TEXT,
    -- The canonical link without scheme and `www.` (see dedup::dedup_key): copies of any entry
    -- of a story join it.
    link_key   TEXT,
    title      TEXT    NOT NULL,
    published  INTEGER,
    first_seen INTEGER NOT NULL,
    -- The entry's time for the clustering window: published when given and not in the future,
    -- else first seen.
    at         INTEGER NOT NULL,
    -- Its TF-IDF vector (cluster::Vector::to_bytes); NULL for entries stored before clustering.
    vector     BLOB,
    UNIQUE (source_id, guid)
);
INSERT INTO entries (source_id, guid, item_id, link, link_key, title, first_seen, at)
    SELECT s.source_id, s.guid, s.item_id, s.link, i.dedup_key, s.title, s.first_seen, s.first_seen
    FROM sightings s JOIN items i ON i.id = s.item_id
    ORDER BY s.rowid;
DROP TABLE sightings;
CREATE INDEX entries_by_item ON entries (item_id);
CREATE INDEX entries_by_link_key ON entries (link_key);

DROP INDEX items_by_dedup_key;
ALTER TABLE items DROP COLUMN dedup_key;
-- The entry the story is shown by (its title, link and text are the story's): the first
-- report, unless a later one is more complete. NULL for stories stored before: their first
-- entry.
ALTER TABLE items ADD COLUMN lead INTEGER REFERENCES entries (id);

-- The index that finds the entries of the window an entry may share an event with: its
-- heaviest words and its MinHash bands (cluster::Features::keys). Only the window is needed,
-- so old rows are pruned; `at` is the entry's time.
CREATE TABLE cluster_keys (
    key   INTEGER NOT NULL,
    at    INTEGER NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (key, at, entry)
) WITHOUT ROWID;

-- Document frequencies for TF-IDF: in how many entries each word (cluster::term_hash) occurs;
-- the number of entries counted is the state key 'cluster_entries'.
CREATE TABLE cluster_terms (
    term    INTEGER PRIMARY KEY,
    entries INTEGER NOT NULL
);
