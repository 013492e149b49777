-- OpenID Provider signing keys, sealed with the operator's key (associated data: the kid).
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    alg         TEXT    NOT NULL,
    sealed_key  BYTEA   NOT NULL,
    publish_at  BIGINT  NOT NULL,
    sign_from   BIGINT  NOT NULL,
    retire_at   BIGINT 
);
