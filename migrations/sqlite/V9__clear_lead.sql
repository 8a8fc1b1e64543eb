-- A rewrite may now join a story a little under the similarity bar when that story leads every
-- other one by far (rule 'clear'); `next` is how alike the next story stood, to show why.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE joins_v9 (
    entry    INTEGER PRIMARY KEY REFERENCES entries (id),
    to_entry INTEGER REFERENCES entries (id),
    rule     TEXT    NOT NULL CHECK (rule IN ('link', 'copy', 'rewrite', 'clear')),
    score    REAL,
    next     REAL,
    shared   TEXT    -- newline-separated
);
INSERT INTO joins_v9 (entry, to_entry, rule, score, shared)
    SELECT entry, to_entry, rule, score, shared FROM joins;
DROP TABLE joins;
ALTER TABLE joins_v9 RENAME TO joins;
