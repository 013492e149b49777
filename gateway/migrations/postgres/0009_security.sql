-- Security hardening (issue 11). Kept column-for-column equal to ../sqlite/.
--
-- "Block now" by an org admin or operator: immediate and reversible, apart from the life
-- cycle's state (a blocked person keeps state `active`).
ALTER TABLE people ADD COLUMN blocked_at BIGINT;
-- The e-mail address was proven by the person (the activation link mailed to it was used);
-- cleared when the address changes. OIDC's `email_verified` says this.
ALTER TABLE people ADD COLUMN email_verified_at BIGINT;

-- Wrong passwords per (person, source): a source (IPv4 address or IPv6 prefix) that sent
-- too many is throttled for that person only. Counted with an increment in SQL, the block
-- set in the same statement's transaction; a right password from the source deletes the row.
CREATE TABLE password_failures (
    person_id      BIGINT  NOT NULL REFERENCES people(id),
    source         TEXT    NOT NULL,
    failures       BIGINT  NOT NULL,
    blocked_until  BIGINT,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (person_id, source)
);
CREATE INDEX password_failures_updated ON password_failures(updated_at);

-- One-time codes are stored as HMAC-SHA256 under a key derived from the master key, over
-- the person id and the code (keyed = 1). Rows written before are plain SHA-256 (keyed = 0)
-- and are still accepted until used or replaced.
ALTER TABLE recovery_codes ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE temporary_codes ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0;
