-- Accounts, invitations, devices, prekeys and per-device queues (relay v1).
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    handle      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    account_key BLOB UNIQUE,            -- Ed25519 AIK, bound at first registration
    created_at  INTEGER NOT NULL,       -- ms since the Unix epoch
    revoked_at  INTEGER
) STRICT;
CREATE INDEX accounts_revoked ON accounts (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX accounts_name ON accounts (name COLLATE NOCASE);

CREATE TABLE invites (
    token_hash BLOB PRIMARY KEY,         -- SHA-256 of the token; the token itself is never stored
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE devices (
    device_id   BLOB PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    certificate BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    queue_count INTEGER NOT NULL DEFAULT 0,
    queue_bytes INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
CREATE INDEX devices_account ON devices (account_id);

CREATE TABLE signed_prekeys (
    device_id  BLOB PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    signature  BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE kem_last_resort_prekeys (
    device_id  BLOB PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    signature  BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE one_time_prekeys (
    device_id  BLOB NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    PRIMARY KEY (device_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE kem_one_time_prekeys (
    device_id  BLOB NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    signature  BLOB NOT NULL,
    PRIMARY KEY (device_id, id)
) STRICT, WITHOUT ROWID;

-- One row per stored copy; seq orders each device's queue and is its delivery id.
CREATE TABLE queue (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id     BLOB NOT NULL,
    sender_handle TEXT NOT NULL,
    sender_device BLOB NOT NULL,
    accepted_at   INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    payload       BLOB NOT NULL
) STRICT;
CREATE INDEX queue_device ON queue (device_id, seq);
CREATE INDEX queue_expiry ON queue (expires_at);

-- Idempotency: a send id already accepted from a device is answered again, not stored again.
CREATE TABLE sends (
    sender_device  BLOB NOT NULL,
    idempotency_id BLOB NOT NULL,
    accepted_at    INTEGER NOT NULL,
    PRIMARY KEY (sender_device, idempotency_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX sends_age ON sends (accepted_at);
