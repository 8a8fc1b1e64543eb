-- newswatch schema for PostgreSQL, version 4: the daemons sharing the database, for `status`.
-- Each running daemon writes its row when it starts and at least once a minute, and removes
-- it when it stops; a row not written for a few minutes is a daemon that died. Times are
-- the server's, as the leases'.
CREATE TABLE daemons (
    holder  TEXT        PRIMARY KEY,
    started TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen    TIMESTAMPTZ NOT NULL DEFAULT now()
);
