-- Per-organisation policy (issue 16), set by the operator: which second factors count,
-- approvals, the end user's address ranges per client, lockout threshold, language. One JSON
-- document per organisation (`crate::policy::OrgPolicy`); no row: the defaults.
CREATE TABLE org_policies (
    org_id BIGINT PRIMARY KEY REFERENCES organisations(id),
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
