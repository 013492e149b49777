-- OpenID Provider signing keys, sealed with the operator's key (associated data: the kid).
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    alg         TEXT    NOT NULL,
    sealed_key  BLOB    NOT NULL,
    publish_at  INTEGER NOT NULL,
    sign_from   INTEGER NOT NULL,
    retire_at   INTEGER
);
