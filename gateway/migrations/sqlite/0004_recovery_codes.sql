-- One-time recovery codes (the self-service portal): the SHA-256 of each code's normal form.
-- A code is spent by setting used_at; a new set replaces the old one. Kept column-for-column
-- equal to ../postgres/.
CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    code_hash   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX recovery_codes_person ON recovery_codes(person_id);
