-- Facts about this relay installation.
CREATE TABLE relay_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
