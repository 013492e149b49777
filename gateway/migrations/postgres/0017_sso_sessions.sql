-- OpenID Connect single sign-on sessions (issue 16): a browser that signed in (password and
-- a second factor) gets further authorizations without a new login until the session's
-- lifetime or idle time runs out, or the person is blocked, disabled or removed. Only the
-- SHA-256 of the cookie's random token is kept.
CREATE TABLE sso_sessions (
    token_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id),
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sso_sessions_person ON sso_sessions (person_id);
