-- The clustering window now lives in memory, rebuilt at start from what every entry carries in
-- its own row (`entries.vector`, `entries.keys`): the index of keys and the word counts are no
-- longer tables written per entry (cluster/index.rs, store/window.rs).
DROP TABLE cluster_keys;
DROP TABLE cluster_terms;
DELETE FROM state WHERE key IN ('cluster_keys_upto', 'cluster_entries');

-- A report now joins a story when it tells the same event (rule 'event'): `score` is the
-- story's certainty (the mean chance over its entries weighed), `pair` the chance with the
-- entry most alike (`to_entry`), `weighed` how many of the story's entries were weighed, and
-- `next` the next story's certainty. SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt; older joins keep their rules ('rewrite', 'clear').
CREATE TABLE joins_v13 (
    entry    INTEGER PRIMARY KEY REFERENCES entries (id),
    to_entry INTEGER REFERENCES entries (id),
    rule     TEXT    NOT NULL CHECK (rule IN ('link', 'copy', 'rewrite', 'clear', 'event')),
    score    REAL,
    next     REAL,
    shared   TEXT,   -- newline-separated
    pair     REAL,
    weighed  INTEGER
);
INSERT INTO joins_v13 (entry, to_entry, rule, score, next, shared)
    SELECT entry, to_entry, rule, score, next, shared FROM joins;
DROP TABLE joins;
ALTER TABLE joins_v13 RENAME TO joins;
