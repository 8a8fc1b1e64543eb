-- The outbox: every message (a digest or an alert, to one recipient) is written here, with its
-- stories, before it is sent; every attempt sends the very same bytes with the same Message-ID,
-- and it is marked sent once the mail transport accepted it. Nothing about a message lives in
-- a process: what a dead process left pending is sent by the next one.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('digest', 'alert')),
    recipient      TEXT    NOT NULL, -- the address, lower case
    message_id     TEXT    NOT NULL UNIQUE,
    subject        TEXT    NOT NULL,
    message        BLOB    NOT NULL, -- the whole message, headers and body
    stories        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    -- pending: to be sent at next_attempt; sent; parked: refused three times, until retried by hand
    state          TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'parked')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    refusals       INTEGER NOT NULL DEFAULT 0, -- permanent (5xx) answers
    next_attempt   INTEGER NOT NULL,
    last_attempt   INTEGER,
    last_error     TEXT,
    sent_at        INTEGER,
    destination    TEXT,    -- the server, or the .eml file written
    parked_noticed INTEGER NOT NULL DEFAULT 0 -- a later message told its recipient it is parked
);
CREATE INDEX outbox_by_state ON outbox (state, next_attempt);

-- Which stories each message carries to its recipient. The key is the promise: a story reaches
-- a recipient in one message only.
CREATE TABLE deliveries (
    recipient TEXT    NOT NULL,
    item_id   INTEGER NOT NULL REFERENCES items (id),
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    PRIMARY KEY (recipient, item_id)
);
CREATE INDEX deliveries_by_message ON deliveries (outbox_id);

-- items.state 'sent' now means: in the outbox for every recipient it was due to. Claims with a
-- lease, and the digests log, gave way to the outbox.
ALTER TABLE items DROP COLUMN claim;
ALTER TABLE items DROP COLUMN claimed_at;
ALTER TABLE items DROP COLUMN sent_at;
DROP TABLE digests;
