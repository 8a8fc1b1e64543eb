-- newswatch schema for PostgreSQL, version 3: leases, for several daemons on one database.
-- A daemon polls a source only while it holds the source's lease; one that dies lets its
-- leases run out, and another daemon polls those sources once they are due. Keyed by the
-- source's name (its row in `sources` is made by its first poll). Times are the server's
-- (`now()`), so that the machines' clocks need not agree.
CREATE TABLE leases (
    source TEXT        PRIMARY KEY,
    -- Which daemon (host, process, a random part); NULL when free.
    holder TEXT,
    until  TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);
