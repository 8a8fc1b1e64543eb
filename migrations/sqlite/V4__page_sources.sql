-- Sources without feeds. kind: what `kind = "auto"` decided on the first successful fetch
-- ('feed' or 'page'), kept so that a source is never silently re-read as the other kind.
-- feed_url: the feed an HTML page advertised, polled instead of the page.
ALTER TABLE sources ADD COLUMN kind TEXT;
ALTER TABLE sources ADD COLUMN feed_url TEXT;
