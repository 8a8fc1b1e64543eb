-- Keywords are highlighted in titles too: byte ranges in the lead's title, as snippet_marks
-- are in the snippet. NULL when none (and for stories stored before).
ALTER TABLE items ADD COLUMN title_marks TEXT;

-- Which outlets (sources) of a story each recipient has been told of, and by which message. A
-- story that gains outlets after it was mailed shows them once, in the next digest's "More
-- coverage of earlier stories": the key is that promise.
CREATE TABLE told (
    recipient TEXT    NOT NULL,
    item_id   INTEGER NOT NULL REFERENCES items (id),
    source_id INTEGER NOT NULL REFERENCES sources (id),
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    PRIMARY KEY (recipient, item_id, source_id)
) WITHOUT ROWID;
-- Messages composed before knew the outlets seen by then.
INSERT OR IGNORE INTO told (recipient, item_id, source_id, outbox_id)
    SELECT d.recipient, e.item_id, e.source_id, d.outbox_id
    FROM deliveries d
    JOIN outbox o ON o.id = d.outbox_id
    JOIN entries e ON e.item_id = d.item_id AND e.first_seen <= o.created_at;

-- A recipient's recent messages: the stories that may have gained outlets, and their last digest.
CREATE INDEX outbox_by_recipient ON outbox (recipient, created_at);

-- Why an entry joined a story another entry began (`newswatch stories --why`): the earlier
-- entry it was found to report the same event as (or to share a link with), by which rule, how
-- alike they were, and the words they share, heaviest first. Written when an entry joins.
CREATE TABLE joins (
    entry    INTEGER PRIMARY KEY REFERENCES entries (id),
    to_entry INTEGER REFERENCES entries (id),
    rule     TEXT    NOT NULL CHECK (rule IN ('link', 'copy', 'rewrite')),
    score    REAL,
    shared   TEXT    -- newline-separated
);
