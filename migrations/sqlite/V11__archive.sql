-- The searchable archive (`newswatch search`), retention, and webhooks.

-- Every story's text (its lead's title, summary and article) for `newswatch search`, keyed by
-- the story's id. Trigram tokens, so that scripts without spaces (日本語) and parts of words
-- can be found; only which stories hold a trigram is kept (detail=none), no positions and no
-- copy of the text: the index narrows, the matcher decides over the stored text. Filled by
-- the store after polls (`archive.rs`), from the state key 'search_upto' on.
CREATE VIRTUAL TABLE search_index USING fts5 (
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram',
    detail = none
);

-- Stories whose text changed after they were indexed (a more complete lead, an article
-- fetched later): indexed again at the next catch-up.
CREATE TABLE search_stale (
    item_id INTEGER PRIMARY KEY
);
CREATE TRIGGER items_text_changed AFTER UPDATE OF title, body, article ON items
BEGIN
    INSERT OR IGNORE INTO search_stale (item_id) VALUES (new.id);
END;

-- Retention ([storage] keep): 1 once the story's texts (summary, article, snippet, the
-- entries' vectors and its index row) were pruned. Its entries' (source, GUID) and link keys
-- stay, so that it never comes back as new.
ALTER TABLE items ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;

-- Messages are mail (`recipient` an address) or webhook posts (`recipient` the URL, `message`
-- the JSON body).
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'mail' CHECK (channel IN ('mail', 'webhook'));
