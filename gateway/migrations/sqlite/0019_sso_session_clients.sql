-- Back-channel logout (issue 16): the OIDC clients each single sign-on session got codes or
-- tokens in, so that each is told (OpenID Connect Back-Channel Logout 1.0) when the session
-- ends. The session's public id (`sid`) is derived one way from its token hash, so it needs
-- no column. Rows go with their session.
CREATE TABLE sso_session_clients (
    token_hash TEXT NOT NULL REFERENCES sso_sessions(token_hash) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (token_hash, client_id)
);
