-- The pages (`web`) show the messages that carried a story: found by the story, not by the
-- recipient the primary key starts with (without it, a scan of every delivery per story).
CREATE INDEX deliveries_by_item ON deliveries (item_id);
-- A page of one topic's stories walks that topic's matches newest first, not every story of the
-- range (most match no topic); a row per match, not per story, is what it costs to write.
CREATE INDEX matches_by_topic ON matches (topic, item_id);
