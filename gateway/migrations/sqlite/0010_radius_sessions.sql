-- RADIUS sessions as the NASes report them in accounting (RFC 2866): Start opens one,
-- Interim-Update refreshes it, Stop (or the NAS's Accounting-On/Off) closes it. A session is
-- (client, NAS address, Acct-Session-Id). Open sessions of a person are what a
-- Disconnect-Request (RFC 5176) ends when the person is removed, disabled or blocked. Every
-- change is also an audit event, written in the same transaction. Kept column-for-column
-- equal to ../postgres/.
CREATE TABLE radius_sessions (
    id                  INTEGER PRIMARY KEY,
    client              TEXT    NOT NULL,
    nas                 TEXT    NOT NULL,
    session_id          TEXT    NOT NULL,
    person_id           INTEGER REFERENCES people(id),
    username            TEXT,
    nas_ip              TEXT,
    nas_identifier      TEXT,
    end_user_address    TEXT,
    calling_station_id  TEXT,
    started_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    stopped_at          INTEGER,
    UNIQUE (client, nas, session_id)
);
CREATE INDEX radius_sessions_person ON radius_sessions(person_id, stopped_at);
