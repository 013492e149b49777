-- Organisations, people, devices (phones and hardware tokens, stock included), audit events.
-- Times are Unix seconds (UTC). Kept column-for-column equal to ../postgres/0001_foundation.sql.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE people (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,
    username         TEXT    NOT NULL UNIQUE,
    full_name        TEXT    NOT NULL,
    email            TEXT,
    employee_number  TEXT,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    roles            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    password_hash    TEXT,
    created_at       INTEGER NOT NULL,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER
);
CREATE INDEX people_org ON people(org_id);

CREATE TABLE devices (
    id             INTEGER PRIMARY KEY,
    uid            TEXT    NOT NULL UNIQUE,
    person_id      INTEGER REFERENCES people(id),
    org_id         INTEGER REFERENCES organisations(id),
    kind           TEXT    NOT NULL,
    label          TEXT    NOT NULL,
    serial         TEXT    UNIQUE,
    manufacturer   TEXT,
    otp_kind       TEXT    NOT NULL,
    otp_hash       TEXT    NOT NULL,
    digits         INTEGER NOT NULL,
    period         INTEGER,
    sealed_secret  BLOB    NOT NULL,
    counter        INTEGER NOT NULL DEFAULT 0,
    last_step      INTEGER,
    state          TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
);
CREATE INDEX devices_person ON devices(person_id);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    time          INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    person_id     INTEGER,
    username      TEXT,
    org_id        INTEGER,
    channel       TEXT    NOT NULL,
    client        TEXT,
    source        TEXT,
    device_id     INTEGER,
    device_label  TEXT,
    outcome       TEXT    NOT NULL,
    reason        TEXT,
    request_id    TEXT,
    detail        TEXT
);
CREATE INDEX audit_person_time ON audit_events(person_id, time);
CREATE INDEX audit_time ON audit_events(time);
