-- no-transaction
-- Usernames unique per organisation (issue 16): two organisations may each have an `ann`.
-- SQLite cannot drop a column's UNIQUE constraint, so `people` is rebuilt the documented way
-- (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off for the copy (they
-- are per connection and cannot change inside a transaction, hence no-transaction), the
-- copy in one transaction keeping every id (so every reference stays right), then foreign
-- keys on again.
-- Kept equal in effect to ../postgres/0018_usernames_per_org.sql.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE people_new (
    id                 INTEGER PRIMARY KEY,
    public_id          TEXT    NOT NULL UNIQUE,
    username           TEXT    NOT NULL,
    full_name          TEXT    NOT NULL,
    email              TEXT,
    employee_number    TEXT,
    org_id             INTEGER NOT NULL REFERENCES organisations(id),
    roles              TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    password_hash      TEXT,
    created_at         INTEGER NOT NULL,
    failed_logins      INTEGER NOT NULL DEFAULT 0,
    locked_until       INTEGER,
    blocked_at         INTEGER,
    email_verified_at  INTEGER
);
INSERT INTO people_new (id, public_id, username, full_name, email, employee_number, org_id,
                        roles, state, password_hash, created_at, failed_logins, locked_until,
                        blocked_at, email_verified_at)
    SELECT id, public_id, username, full_name, email, employee_number, org_id,
           roles, state, password_hash, created_at, failed_logins, locked_until,
           blocked_at, email_verified_at
    FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;
CREATE INDEX people_org ON people(org_id);
CREATE INDEX people_email_lower ON people(LOWER(email));
-- Unique per organisation; its username-first order serves a lookup by name across them.
CREATE UNIQUE INDEX people_username_org ON people(username, org_id);
COMMIT;
PRAGMA foreign_keys = ON;
