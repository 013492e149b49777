-- Tamper evidence (see src/audit_chain.rs): every event's content hash and chain hash,
-- written with the event; a purged row keeps both. Rows from before this migration are
-- hashed by the store when it opens. Kept column-for-column equal to ../postgres/.
ALTER TABLE audit_events ADD COLUMN content_hash BLOB;
ALTER TABLE audit_events ADD COLUMN chain_hash BLOB;
ALTER TABLE audit_events ADD COLUMN purged BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX audit_org_time ON audit_events(org_id, time);

-- Signed checkpoints of the chain's head.
CREATE TABLE audit_checkpoints (
    id             INTEGER PRIMARY KEY,
    last_event_id  INTEGER NOT NULL,
    chain_hash     BLOB    NOT NULL,
    time           INTEGER NOT NULL,
    signature      BLOB    NOT NULL,
    public_key     BLOB    NOT NULL
);

-- The checkpoint signing key (Ed25519), sealed with the master key (associated data: kid).
CREATE TABLE audit_keys (
    kid         TEXT    PRIMARY KEY,
    sealed_key  BLOB    NOT NULL,
    public_key  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
