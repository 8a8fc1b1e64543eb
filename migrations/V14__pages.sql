-- The pages (`web`) show the messages that carried a story: found by the story, not by the
-- recipient the primary key starts with (without it, a scan of every delivery per story).
CREATE INDEX deliveries_by_item ON deliveries (item_id);
