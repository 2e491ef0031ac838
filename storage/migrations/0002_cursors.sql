-- Per-channel catch-up state: everything up to last_message_id has been fetched in order.

CREATE TABLE channel_cursors (
    channel_id       INTEGER PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    last_message_id  INTEGER,          -- NULL until the first fetch (first sight)
    last_fetch_at    INTEGER,          -- last successful fetch
    last_recheck_at  INTEGER,          -- last re-check of recent ids for edits and deletions
    last_post_at     INTEGER,          -- date of the newest post seen by any source
    deferred_until   INTEGER,          -- a long flood wait: do not ask before this time
    last_error       TEXT
);
