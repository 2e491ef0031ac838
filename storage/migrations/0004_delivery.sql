-- Chats, their subscriptions, and the outbox of alerts (invariant 2 of the design).

CREATE TABLE chats (
    id           INTEGER PRIMARY KEY,              -- Telegram chat id
    type         TEXT NOT NULL DEFAULT 'private',  -- private, group, supergroup, channel
    language     TEXT,                             -- uk, ru, en; NULL: from the user
    timezone     TEXT NOT NULL DEFAULT 'Europe/Kyiv',
    active       INTEGER NOT NULL DEFAULT 1,       -- 0 after 403 (blocked, kicked)
    paused       INTEGER NOT NULL DEFAULT 0,       -- /pause: no alerts for the chat
    migrated_to  INTEGER,                          -- a group that became a supergroup
    created_at   INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE,
    query       TEXT NOT NULL,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    paused      INTEGER NOT NULL DEFAULT 0,
    silent      INTEGER NOT NULL DEFAULT 0,
    edits       INTEGER NOT NULL DEFAULT 1,
    deletions   INTEGER NOT NULL DEFAULT 1,
    forwards    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX subscriptions_chat ON subscriptions(chat_id);

-- One row per (chat, post, kind, version), written in the transaction that stored the post
-- or its change; the notifier claims due rows, sends them, and marks them sent.
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    chat_id           INTEGER NOT NULL,
    post_id           INTEGER NOT NULL REFERENCES posts(id),
    kind              TEXT NOT NULL CHECK (kind IN ('new', 'edit', 'deletion', 'also_in')),
    version           INTEGER NOT NULL DEFAULT 0,
    subscription_ids  TEXT NOT NULL DEFAULT '[]',
    payload           TEXT NOT NULL DEFAULT '{}',
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    next_attempt_at   INTEGER NOT NULL,
    claimed_at        INTEGER,
    sent_at           INTEGER,
    sent_message_ids  TEXT,
    last_error        TEXT,
    UNIQUE (chat_id, post_id, kind, version)
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_post ON outbox(post_id);
