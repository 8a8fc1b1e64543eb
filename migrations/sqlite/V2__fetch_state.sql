-- Fetching that stays polite and cheap: conditional GET validators, per-source schedule and
-- backoff, pause on 410 Gone, permanent redirects, and per-host Retry-After.

ALTER TABLE sources ADD COLUMN etag TEXT;
ALTER TABLE sources ADD COLUMN last_modified TEXT;
-- SHA-256 of the last body parsed: an unchanged body is not parsed again.
ALTER TABLE sources ADD COLUMN body_hash TEXT;
ALTER TABLE sources ADD COLUMN last_status INTEGER;
-- When the source is next due (Unix seconds); NULL: due now.
ALTER TABLE sources ADD COLUMN next_poll INTEGER;
-- Start of the current run of failures; NULL while healthy.
ALTER TABLE sources ADD COLUMN failing_since INTEGER;
-- Set on 410 Gone: not polled until `newswatch sources --resume NAME`.
ALTER TABLE sources ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
-- Where a 301/308 pointed, so the user can update the config.
ALTER TABLE sources ADD COLUMN moved_to TEXT;

-- Rate limits are per client address, so a 429/503 Retry-After holds for the whole host.
CREATE TABLE hosts (
    host        TEXT PRIMARY KEY,
    retry_after INTEGER NOT NULL, -- Unix seconds until which the host is left alone
    reason      TEXT    NOT NULL
);
