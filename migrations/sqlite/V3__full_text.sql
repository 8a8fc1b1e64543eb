-- Full text: the main text of the article an entry links to, fetched once (sources with
-- full_text = true). A failed fetch is tried again at the next polls, up to three attempts.
ALTER TABLE items ADD COLUMN article TEXT;
ALTER TABLE items ADD COLUMN article_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN article_error TEXT;
