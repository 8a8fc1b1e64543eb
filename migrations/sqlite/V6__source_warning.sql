-- What was wrong with the last document read from a source that was read all the same (entries
-- skipped, a malformed document from which entries were recovered, a links selector that
-- matched nothing). Replaced at each read of a new document; kept while the document is unchanged.
ALTER TABLE sources ADD COLUMN last_warning TEXT;
