-- Self-service password reset (issue 13): a link mailed to the person, then a code from one
-- of their devices, then the new password. Only a keyed hash of the link's secret is kept
-- (HMAC-SHA256 under a key derived from the master key, over the person id and the secret).
-- A newer link, a completed reset or its expiry (1 hour) ends a link; `verified_at` is when
-- the code step passed (the new password must follow within minutes).
CREATE TABLE password_reset_links (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    token_hash   BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    verified_at  INTEGER,
    used_at      INTEGER
);
CREATE INDEX password_reset_links_person ON password_reset_links(person_id, created_at);

-- "Forgot password" takes a username or an e-mail address.
CREATE INDEX people_email_lower ON people(LOWER(email));
