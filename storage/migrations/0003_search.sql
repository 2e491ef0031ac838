-- Archive search: an FTS5 index over normalised terms (lemmas and folded forms).
-- search_rowid sorts like the post date, so FTS walks matches newest first.

ALTER TABLE posts ADD COLUMN search_rowid INTEGER;    -- the post's rowid in post_search
ALTER TABLE posts ADD COLUMN search_version INTEGER;  -- NORMALIZER_VERSION of its indexed terms
CREATE UNIQUE INDEX posts_search_rowid ON posts(search_rowid) WHERE search_rowid IS NOT NULL;
CREATE INDEX posts_search_version ON posts(search_version);
CREATE INDEX posts_date_id ON posts(date DESC, id DESC);

-- Positions are not needed (phrases are confirmed by the matcher): detail=none keeps it small.
CREATE VIRTUAL TABLE post_search USING fts5(
    terms,
    tokenize = "unicode61 remove_diacritics 0",
    detail = none
);
CREATE VIRTUAL TABLE post_search_vocab USING fts5vocab(post_search, 'row');
