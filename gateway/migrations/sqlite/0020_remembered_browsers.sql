-- Remembered browsers (issue 16): a web login whose organisation allows it may remember its
-- browser for some days ("Remember this browser"); that browser's next logins of the same
-- person ask for the password but not the code. Only the SHA-256 of the cookie's random
-- 256-bit token is kept. A row ends at `expires_at`, when forgotten (the person, an org
-- admin), or at use when the person was blocked, disabled, removed, unlocked or their
-- password changed since `created_at`, or the policy no longer allows it.
CREATE TABLE remembered_browsers (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    person_id INTEGER NOT NULL REFERENCES people(id),
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX remembered_browsers_person ON remembered_browsers (person_id);
CREATE INDEX remembered_browsers_expires ON remembered_browsers (expires_at);
