-- Rows deleted from the search index by retention are not merged out as they go: by default
-- FTS5 rewrites a level of its index once a tenth of it is deleted, again and again while half
-- an archive is pruned (330 s of CPU for 527,000 stories). Retention merges the index once
-- after each prune instead (`store/archive.rs`).
INSERT INTO search_index (search_index, rank) VALUES ('deletemerge', 0);
