-- The clustering index of recent entries is now kept in memory and written to `cluster_keys`
-- in sorted batches (store/window.rs): filing each entry's keys at once scattered them over
-- the table's pages, and a poll's commit wrote those pages again. Each entry carries its own
-- keys, so that what was not yet written out (the process stopped) is read back from here.
-- Entries stored before this version are all in `cluster_keys` already.
ALTER TABLE entries ADD COLUMN keys BLOB;
INSERT INTO state (key, value)
    SELECT 'cluster_keys_upto', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM entries
    WHERE true
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
