-- Temporary codes (the helpdesk path for a lost device): the SHA-256 of the code's normal
-- form, valid for one login until expires_at. Issuing a new one deletes an unused old one.
-- issued_by names the operator. AUTOINCREMENT: a replaced code's id is never reused, so a
-- login holding the old id cannot spend the new code. Kept column-for-column equal to
-- ../postgres/.
CREATE TABLE temporary_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    code_hash   BLOB    NOT NULL,
    issued_by   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX temporary_codes_person ON temporary_codes(person_id);
