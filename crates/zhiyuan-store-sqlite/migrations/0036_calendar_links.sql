-- A volunteer's calendar link: the address a calendar app subscribes to (it sends no
-- bearer token), known by the digest of its secret. One per volunteer; a new one
-- replaces the old, which then answers nothing.
CREATE TABLE calendar_links (
    volunteer_id INTEGER PRIMARY KEY REFERENCES volunteers (id),
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
) STRICT;
