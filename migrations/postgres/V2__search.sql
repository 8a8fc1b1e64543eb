-- Search (`newswatch search`): each story's text as the index holds it (text::searchable: title,
-- summary and article, lower-cased, words one space apart) under a trigram index (pg_trgm),
-- which LIKE '%...%' reads: the same narrowing as SQLite's FTS5 trigram index. Filled by the
-- index's catch-up, up to the story in state 'search_upto'; a story whose text changes later
-- waits in search_stale to be indexed again.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_text (
    item_id BIGINT PRIMARY KEY REFERENCES items (id),
    text    TEXT   NOT NULL
);
CREATE INDEX search_text_trigrams ON search_text USING gin (text gin_trgm_ops);

CREATE TABLE search_stale (
    item_id BIGINT PRIMARY KEY
);

CREATE FUNCTION items_text_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_stale (item_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER items_text_changed AFTER UPDATE OF title, body, article ON items
    FOR EACH ROW EXECUTE FUNCTION items_text_changed();
