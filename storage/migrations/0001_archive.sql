-- The archive: channels, posts, edit versions and deletions.
-- Times are UTC seconds since the epoch (INTEGER).

CREATE TABLE channels (
    id           INTEGER PRIMARY KEY,          -- internal key; never changes
    telegram_id  INTEGER UNIQUE,               -- bare channel id (not the -100 marked form)
    username     TEXT UNIQUE COLLATE NOCASE,   -- current public username, without @
    title        TEXT,
    access_hash  INTEGER,                      -- from one ResolveUsername; reused for every request
    source       TEXT NOT NULL DEFAULT 'telegram' CHECK (source IN ('telegram', 'web')),
    in_config    INTEGER NOT NULL DEFAULT 0,   -- listed in [[channels]] of the config file
    added_by     INTEGER,                      -- admin who added it at run time
    active       INTEGER NOT NULL DEFAULT 1,   -- watched now
    joined       INTEGER NOT NULL DEFAULT 0,   -- the listener's account has joined it
    created_at   INTEGER NOT NULL,
    CHECK (telegram_id IS NOT NULL OR username IS NOT NULL)
);

-- Every username and title a channel has had, with when it was first seen.
CREATE TABLE channel_names (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('username', 'title')),
    value       TEXT NOT NULL,
    seen_at     INTEGER NOT NULL
);
CREATE INDEX channel_names_lookup ON channel_names(kind, value COLLATE NOCASE);
CREATE INDEX channel_names_channel ON channel_names(channel_id, kind, seen_at);

CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    message_id      INTEGER NOT NULL,
    date            INTEGER NOT NULL,
    text            TEXT NOT NULL DEFAULT '',          -- the current text (message or caption)
    entities        TEXT NOT NULL DEFAULT '[]',        -- JSON list of formatting entities
    media_kind      TEXT NOT NULL DEFAULT 'none',
    fwd_channel_id  INTEGER,                           -- forward origin: bare channel id
    fwd_message_id  INTEGER,                           -- forward origin: its post id
    fwd_name        TEXT,                              -- forward origin: name when hidden
    grouped_id      INTEGER,                           -- album
    views           INTEGER,
    author          TEXT,                              -- author signature or sender
    reply_to        INTEGER,
    edit_date       INTEGER,                           -- of the current version
    version         INTEGER NOT NULL DEFAULT 0,        -- 0 = as first seen; +1 per stored edit
    origin          TEXT NOT NULL,                     -- live, catchup, first_sight, backfill, web, import
    late            INTEGER NOT NULL DEFAULT 0,        -- arrived through catch-up, not live
    first_seen_at   INTEGER NOT NULL,
    UNIQUE (channel_id, message_id)
);
CREATE INDEX posts_date ON posts(date);
CREATE INDEX posts_channel_date ON posts(channel_id, date);
CREATE INDEX posts_forward ON posts(fwd_channel_id, fwd_message_id) WHERE fwd_channel_id IS NOT NULL;
CREATE INDEX posts_grouped ON posts(channel_id, grouped_id) WHERE grouped_id IS NOT NULL;

-- The previous content of a post each time it was edited.
CREATE TABLE post_versions (
    post_id      INTEGER NOT NULL REFERENCES posts(id),
    version      INTEGER NOT NULL,            -- the version number this content had
    text         TEXT NOT NULL,
    entities     TEXT NOT NULL,
    media_kind   TEXT NOT NULL,
    edit_date    INTEGER,                     -- when this content was written (NULL: original)
    replaced_at  INTEGER NOT NULL,            -- when chanwatch saw it replaced
    PRIMARY KEY (post_id, version)
);

-- A deleted post keeps its row and text; this records when and how we learnt of it.
-- Keyed by channel and message id, so a deletion of a post we never saw is kept too.
CREATE TABLE deletions (
    channel_id   INTEGER NOT NULL REFERENCES channels(id),
    message_id   INTEGER NOT NULL,
    deleted_at   INTEGER NOT NULL,
    detected_by  TEXT NOT NULL,               -- live, recheck, web
    PRIMARY KEY (channel_id, message_id)
);
