-- A payload is stored once however many devices it is queued for (a group
-- message, issue #7); each device's queue holds entries that point at it.
-- 1:1 copies use the same tables, one payload per copy.
CREATE TABLE payloads (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- the delivery id of every entry of it
    sender_handle TEXT NOT NULL,
    sender_device BLOB NOT NULL,
    accepted_at   INTEGER NOT NULL,                  -- ms since the Unix epoch
    expires_at    INTEGER NOT NULL,
    payload       BLOB NOT NULL
) STRICT;
CREATE INDEX payloads_expiry ON payloads (expires_at);

-- One row per (device, payload) still to deliver; the queue order is seq's.
CREATE TABLE queue_entries (
    device_id BLOB NOT NULL,
    seq       INTEGER NOT NULL,                      -- payloads.id
    PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;
-- Finds a payload's remaining entries (last ack, expiry).
CREATE INDEX queue_entries_payload ON queue_entries (seq);

INSERT INTO payloads (id, sender_handle, sender_device, accepted_at, expires_at, payload)
    SELECT seq, sender_handle, sender_device, accepted_at, expires_at, payload FROM queue;
INSERT INTO queue_entries (device_id, seq) SELECT device_id, seq FROM queue;

-- Delivery ids keep growing across the upgrade (a connected client never
-- sees an id it already had).
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'payloads', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'payloads');
UPDATE sqlite_sequence
    SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'queue'), 0))
    WHERE name = 'payloads';

DROP TABLE queue;
