-- The web preview poller's state per channel (t.me/s/<channel>): when to poll next, how
-- often it failed in a row (for backoff), and which ids it saw, for the deletion rule.

CREATE TABLE web_channel_state (
    channel_id     INTEGER PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    next_poll_at   INTEGER,                       -- do not poll before this time (UTC seconds)
    failures       INTEGER NOT NULL DEFAULT 0,    -- consecutive failed polls (backoff exponent)
    seen_ids       TEXT NOT NULL DEFAULT '[]',    -- JSON: ids shown on their own, still tracked
    missing        TEXT NOT NULL DEFAULT '{}',    -- JSON: {id: consecutive polls it was missing}
    last_poll_at   INTEGER,                       -- last attempt, successful or not
    last_status    TEXT                           -- ok, first_sight, or the error kind
);
