-- Account life cycle (issue 8): requests of customer organisations with their status
-- history, activation links, per-organisation API tokens, switch-over dates, and marks on
-- hardware tokens (lost, retired). Secrets (link and API tokens) are stored as SHA-256 only.
-- Kept column-for-column equal to ../postgres/0008_lifecycle.sql.

CREATE TABLE lifecycle_requests (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations(id),
    kind          TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    requested_by  TEXT    NOT NULL,
    requester_id  INTEGER REFERENCES people(id),
    person_id     INTEGER REFERENCES people(id),
    scheduled_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX lifecycle_requests_org ON lifecycle_requests(org_id, status);

CREATE TABLE lifecycle_history (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES lifecycle_requests(id),
    time        INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    note        TEXT
);
CREATE INDEX lifecycle_history_request ON lifecycle_history(request_id);

CREATE TABLE activation_links (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    request_id   INTEGER REFERENCES lifecycle_requests(id),
    token_hash   BLOB    NOT NULL,
    sealed_seed  BLOB,
    seed_uid     TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX activation_links_person ON activation_links(person_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    token_hash  BLOB    NOT NULL,
    label       TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE org_switch_over (
    org_id          INTEGER PRIMARY KEY REFERENCES organisations(id),
    switch_over_at  INTEGER NOT NULL
);

CREATE TABLE token_marks (
    device_id  INTEGER PRIMARY KEY REFERENCES devices(id),
    mark       TEXT    NOT NULL,
    org_id     INTEGER REFERENCES organisations(id),
    time       INTEGER NOT NULL
);
